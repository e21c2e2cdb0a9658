"""The one message table for readers' languages (server-rendered bar, embed page, widget).

To add a language, add one dict with every key of ``MESSAGES["en"]``; ``tests/test_i18n.py`` checks
that each language is complete. Placeholders: ``{network}``, ``{count}``.
"""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "fr": {
        "share_bar": "Partager cet article",
        "share_on": "Partager sur {network}",
        "copy": "Copier le lien",
        "copied": "Copié !",
        "copy_failed": "Copie impossible : sélectionnez le lien et copiez-le",
        "qr": "Code QR",
        "qr_title": "Continuer sur votre téléphone",
        "qr_alt": "Code QR menant à cet article",
        "native": "Partager…",
        "more": "Plus de contenu",
        "close": "Fermer",
        "new_window": "(nouvelle fenêtre)",
        "shares": "{count} partages",
        "mastodon_instance": "Votre instance Mastodon (ex. : mastodon.social)",
        "counts_note": "Partages comptés sur ce site uniquement",
        "share_email": "Envoyer par e-mail",
        "link_label": "Lien de cet article",
    },
    "en": {
        "share_bar": "Share this article",
        "share_on": "Share on {network}",
        "copy": "Copy link",
        "copied": "Copied!",
        "copy_failed": "Could not copy: select the link and copy it",
        "qr": "QR code",
        "qr_title": "Continue on your phone",
        "qr_alt": "QR code leading to this article",
        "native": "Share…",
        "more": "More content",
        "close": "Close",
        "new_window": "(opens in a new window)",
        "shares": "{count} shares",
        "mastodon_instance": "Your Mastodon instance (e.g. mastodon.social)",
        "counts_note": "Shares counted on this site only",
        "share_email": "Send by email",
        "link_label": "Link to this article",
    },
    "de": {
        "share_bar": "Diesen Artikel teilen",
        "share_on": "Auf {network} teilen",
        "copy": "Link kopieren",
        "copied": "Kopiert!",
        "copy_failed": "Kopieren nicht möglich: Link markieren und kopieren",
        "qr": "QR-Code",
        "qr_title": "Auf dem Handy weiterlesen",
        "qr_alt": "QR-Code zu diesem Artikel",
        "native": "Teilen…",
        "more": "Mehr Inhalte",
        "close": "Schließen",
        "new_window": "(neues Fenster)",
        "shares": "{count} Mal geteilt",
        "mastodon_instance": "Ihre Mastodon-Instanz (z. B. mastodon.social)",
        "counts_note": "Nur auf dieser Website gezählte Teilungen",
        "share_email": "Per E-Mail senden",
        "link_label": "Link zu diesem Artikel",
    },
    "es": {
        "share_bar": "Compartir este artículo",
        "share_on": "Compartir en {network}",
        "copy": "Copiar enlace",
        "copied": "¡Copiado!",
        "copy_failed": "No se pudo copiar: seleccione el enlace y cópielo",
        "qr": "Código QR",
        "qr_title": "Continuar en el móvil",
        "qr_alt": "Código QR que lleva a este artículo",
        "native": "Compartir…",
        "more": "Más contenido",
        "close": "Cerrar",
        "new_window": "(nueva ventana)",
        "shares": "{count} veces compartido",
        "mastodon_instance": "Su instancia de Mastodon (p. ej. mastodon.social)",
        "counts_note": "Solo se cuentan los compartidos desde este sitio",
        "share_email": "Enviar por correo",
        "link_label": "Enlace a este artículo",
    },
    "it": {
        "share_bar": "Condividi questo articolo",
        "share_on": "Condividi su {network}",
        "copy": "Copia link",
        "copied": "Copiato!",
        "copy_failed": "Copia non riuscita: seleziona il link e copialo",
        "qr": "Codice QR",
        "qr_title": "Continua sul telefono",
        "qr_alt": "Codice QR che porta a questo articolo",
        "native": "Condividi…",
        "more": "Altri contenuti",
        "close": "Chiudi",
        "new_window": "(nuova finestra)",
        "shares": "{count} condivisioni",
        "mastodon_instance": "La tua istanza Mastodon (es. mastodon.social)",
        "counts_note": "Condivisioni contate solo su questo sito",
        "share_email": "Invia per e-mail",
        "link_label": "Link a questo articolo",
    },
    "nl": {
        "share_bar": "Dit artikel delen",
        "share_on": "Delen op {network}",
        "copy": "Link kopiëren",
        "copied": "Gekopieerd!",
        "copy_failed": "Kopiëren mislukt: selecteer de link en kopieer hem",
        "qr": "QR-code",
        "qr_title": "Verder lezen op je telefoon",
        "qr_alt": "QR-code naar dit artikel",
        "native": "Delen…",
        "more": "Meer inhoud",
        "close": "Sluiten",
        "new_window": "(nieuw venster)",
        "shares": "{count} keer gedeeld",
        "mastodon_instance": "Je Mastodon-server (bijv. mastodon.social)",
        "counts_note": "Alleen op deze site getelde deelacties",
        "share_email": "Versturen per e-mail",
        "link_label": "Link naar dit artikel",
    },
    "pt": {
        "share_bar": "Partilhar este artigo",
        "share_on": "Partilhar no {network}",
        "copy": "Copiar ligação",
        "copied": "Copiado!",
        "copy_failed": "Não foi possível copiar: selecione a ligação e copie-a",
        "qr": "Código QR",
        "qr_title": "Continuar no telemóvel",
        "qr_alt": "Código QR que leva a este artigo",
        "native": "Partilhar…",
        "more": "Mais conteúdo",
        "close": "Fechar",
        "new_window": "(nova janela)",
        "shares": "{count} partilhas",
        "mastodon_instance": "A sua instância Mastodon (ex.: mastodon.social)",
        "counts_note": "Partilhas contadas apenas neste site",
        "share_email": "Enviar por e-mail",
        "link_label": "Ligação para este artigo",
    },
}

LANGUAGES = tuple(MESSAGES)
RTL_LANGUAGES = frozenset({"ar", "he", "fa", "ur"})


def pick_lang(requested: str | None, default: str = "fr") -> str:
    """The best supported language for a tag like 'fr-FR' or 'en'; else the site default."""
    for candidate in (requested or "", default):
        base = candidate.strip().lower().replace("_", "-").split("-")[0]
        if base in MESSAGES:
            return base
    return "en"


def messages(lang: str) -> dict[str, str]:
    return MESSAGES[pick_lang(lang)]


def t(lang: str, key: str, **values) -> str:
    text = messages(lang).get(key) or MESSAGES["en"][key]
    return text.format(**values) if values else text
