"""Text analysis for recommendations: accent folding, French and English stop-words, a light
plural/feminine stemmer, and field-weighted BM25 term weights of one article. No Flask here.

Every function is a pure function of its input, so an article's terms never depend on the rest of
the catalogue (deterministic, and cheap to keep up to date incrementally)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Field weights: a word in the title counts three times one in the description; a tag counts as
# a whole-tag term ("#tag", which only articles carrying the same tag share) plus its words.
W_TITLE = 3.0
W_DESCRIPTION = 1.0
W_TAG_WORDS = 1.5
W_TAG = 3.0
# BM25 saturation and length normalisation against a fixed average weighted length (a constant,
# so that one article's weights do not move when others arrive).
K1 = 1.2
B = 0.5
AVG_LENGTH = 40.0
MAX_TERMS = 40            # strongest terms kept per article (bounds memory per article)

_WORD_RE = re.compile(r"[a-z0-9]+")
_LIGATURES = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss", "’": "'"})

STOP_WORDS_FR = ["a", "afin", "ai", "aie", "aient", "aies", "ait", "alors", "as", "au", "aucun", "aucune", "aupres", "auquel", "aura", "aurai", "auraient", "aurais", "aurait", "auras", "aurez", "auriez", "aurions", "aurons", "auront", "aussi", "autre", "autres", "aux", "avaient", "avais", "avait", "avant", "avec", "avez", "aviez", "avions", "avoir", "avons", "ayant", "ayez", "ayons", "bien", "c", "ca", "car", "ce", "ceci", "cela", "celle", "celles", "celui", "cependant", "certain", "certaine", "certaines", "certains", "ces", "cet", "cette", "ceux", "chacun", "chacune", "chaque", "chez", "ci", "comme", "comment", "d", "dans", "de", "des", "deja", "depuis", "dont", "donc", "du", "elle", "elles", "en", "encore", "entre", "es", "est", "et", "etaient", "etais", "etait", "etant", "ete", "etes", "etiez", "etions", "etre", "eu", "eue", "eues", "eurent", "eus", "eusse", "eut", "eux", "fait", "faire", "fais", "faut", "fois", "font", "fut", "furent", "fus", "haut", "hors", "hui", "ici", "il", "ils", "j", "je", "jusqu", "jusque", "l", "la", "laquelle", "le", "lequel", "les", "lesquelles", "lesquels", "leur", "leurs", "lors", "lorsque", "lui", "m", "ma", "mais", "me", "meme", "memes", "mes", "moi", "moins", "mon", "n", "ne", "ni", "non", "nos", "notre", "nous", "nouveau", "nouvelle", "on", "ont", "or", "ou", "par", "parce", "pas", "peu", "peut", "peuvent", "plus", "plupart", "pour", "pourquoi", "pourra", "puis", "qu", "quand", "que", "quel", "quelle", "quelles", "quelque", "quelques", "quels", "qui", "quoi", "s", "sa", "sans", "se", "selon", "ses", "seulement", "si", "sien", "son", "sont", "sous", "soyez", "sur", "t", "ta", "tandis", "te", "tel", "telle", "telles", "tels", "tes", "toi", "ton", "tous", "tout", "toute", "toutes", "tres", "trop", "tu", "un", "une", "unes", "uns", "vers", "via", "voici", "voila", "vont", "vos", "votre", "vous", "y", "apres", "aujourd", "deux", "trois", "ans", "an", "selon", "face", "contre", "entre", "chez", "sera", "seront", "serait", "etre", "dit", "dire", "selon", "cette", "celui", "lors"]

STOP_WORDS_EN = ["a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are", "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for", "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "me", "more", "most", "my", "myself", "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "ours", "ourselves", "out", "over", "own", "same", "she", "should", "so", "some", "such", "than", "that", "the", "their", "theirs", "them", "themselves", "then", "there", "these", "they", "this", "those", "through", "to", "too", "under", "until", "up", "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your", "yours", "yourself", "yourselves", "says", "said", "new", "also", "may", "one", "two", "three", "year", "years"]


def fold(value: str) -> str:
    """Lower case without accents: « Élections » -> « elections », « cœur » -> « coeur »."""
    value = value.translate(_LIGATURES).lower()
    if value.isascii():
        return value
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Light stemming: plural -s/-x and a final -e dropped on longer words, so that
    « politique / politiques », « élu / élus / élue », « journal / journaux » meet."""
    if len(word) > 5 and word.endswith("aux"):
        return word[:-3] + "al"
    if len(word) > 3 and word[-1] in "sx" and not word.endswith("ss"):
        word = word[:-1]
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    return word


STOP_WORDS = frozenset(stem(w) for w in STOP_WORDS_FR + STOP_WORDS_EN) | frozenset(
    STOP_WORDS_FR + STOP_WORDS_EN
)


_RAW_WORD_RE = re.compile(r"[^\W_]+")


@lru_cache(maxsize=200_000)
def _word_tokens(raw: str) -> tuple[str, ...]:
    """Tokens of one lower-cased word as the regex found it (cached: words repeat a lot)."""
    out = []
    for word in _WORD_RE.findall(fold(raw)):
        if len(word) < 2 or word in STOP_WORDS:
            continue
        if word.isdigit() and len(word) != 4:
            continue
        word = stem(word)
        if word not in STOP_WORDS:
            out.append(word)
    return tuple(out)


def tokens(value: str) -> list[str]:
    """Folded, stemmed words of a text without stop-words, one-letter words and bare numbers
    shorter than four digits (years are kept)."""
    out: list[str] = []
    for raw in _RAW_WORD_RE.findall(value.lower()):
        out.extend(_word_tokens(raw))
    return out


@lru_cache(maxsize=50_000)
def tag_term(tag: str) -> str:
    """The whole-tag term of a tag: « Élections municipales » -> « #elections municipales »."""
    return "#" + " ".join(_WORD_RE.findall(fold(tag)))


@lru_cache(maxsize=10_000)
def section_key(section: str) -> str:
    return " ".join(_WORD_RE.findall(fold(section or "")))


def analyze(title: str, description: str, tags: list[str]) -> tuple[dict[str, float], set[str]]:
    """BM25-saturated, field-weighted term weights of one article (at most MAX_TERMS terms),
    and the terms of its title."""
    tf: dict[str, float] = {}
    title_terms = tokens(title)
    for word in title_terms:
        tf[word] = tf.get(word, 0.0) + W_TITLE
    for word in tokens(description):
        tf[word] = tf.get(word, 0.0) + W_DESCRIPTION
    for tag in tags:
        term = tag_term(tag)
        if len(term) > 1:
            tf[term] = tf.get(term, 0.0) + W_TAG
        for word in tokens(tag):
            tf[word] = tf.get(word, 0.0) + W_TAG_WORDS
    if not tf:
        return {}, set()
    length = sum(tf.values())
    norm = K1 * (1 - B + B * length / AVG_LENGTH)
    out = {term: f * (K1 + 1) / (f + norm) for term, f in tf.items()}
    if len(out) > MAX_TERMS:
        out = dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_TERMS])
    return out, set(title_terms)


def weights(title: str, description: str, tags: list[str]) -> dict[str, float]:
    return analyze(title, description, tags)[0]
