"""The message table: every language complete, placeholders kept, language negotiation."""

import string

import pytest

from share_service.sharing import i18n


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_language_is_complete_with_same_placeholders(lang):
    english = i18n.MESSAGES["en"]
    table = i18n.MESSAGES[lang]
    assert set(table) == set(english)
    for key, text in english.items():
        fields = {f for _, f, _, _ in string.Formatter().parse(text) if f}
        assert fields == {f for _, f, _, _ in string.Formatter().parse(table[key]) if f}, key


def test_required_languages_present():
    assert {"fr", "en", "de", "es", "it", "nl", "pt"} <= set(i18n.LANGUAGES)


def test_pick_lang_negotiates_and_falls_back():
    assert i18n.pick_lang("fr-FR") == "fr"
    assert i18n.pick_lang("pt_BR") == "pt"
    assert i18n.pick_lang("ja", default="de") == "de"
    assert i18n.t("fr", "share_on", network="Facebook") == "Partager sur Facebook"
    assert i18n.t("fr", "copied") == "Copié !"
