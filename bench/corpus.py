"""Generated catalogues with a known topical structure (used by bench/recommend.py and by the
recommendation quality test).

Each article belongs to one topic: its title, description and tags draw most words from the
topic's vocabulary, the rest from a general French vocabulary (Zipf-distributed, accents and
stop-words included), with some words borrowed from other topics as noise. Sections are shared
by several topics, so the section alone does not reveal the topic.
"""

from __future__ import annotations

import random

# Six hand-written topics (real French words, accents) for the quality test.
TOPICS = {
    "football": ("Sport", "but buteur match ligue championnat entraîneur vestiaire pénalty "
                 "tribune supporters stade défenseur attaquant gardien transfert mercato "
                 "carton arbitre équipe victoire défaite coupe finale demi-finale club "
                 "saison classement", ["Ligue 1", "Football", "Coupe de France", "Mercato"]),
    "elections": ("Politique", "élection scrutin candidat électeurs sondage campagne "
                  "municipales législatives sénat assemblée député ministre gouvernement "
                  "opposition majorité vote bulletin abstention réforme programme parti "
                  "présidentielle débat coalition", ["Élections", "Assemblée nationale",
                                                     "Gouvernement", "Sondages"]),
    "climat": ("Société", "climat réchauffement canicule sécheresse émissions carbone "
               "glaciers biodiversité inondations température océans pollution énergie "
               "renouvelable éolienne solaire GIEC transition écologique forêt incendie "
               "pluie météo", ["Climat", "Environnement", "Écologie", "Météo"]),
    "cuisine": ("Art de vivre", "recette cuisine chef gastronomie restaurant fromage "
                "pâtisserie boulangerie vin vendanges marché légumes saveurs dégustation "
                "étoilé menu brasserie terroir chocolat croissant épices potager", [
                    "Gastronomie", "Recettes", "Vins", "Restaurants"]),
    "cinema": ("Culture", "cinéma film réalisateur actrice acteur festival Cannes palme "
               "tournage scénario salle spectateurs box-office série documentaire César "
               "première bande-annonce producteur comédie drame", ["Cinéma", "Festival de Cannes",
                                                                   "Séries", "César"]),
    "economie": ("Économie", "inflation croissance chômage entreprises bourse banque "
                 "taux crédit salaires pouvoir d'achat dette budget impôts exportations "
                 "industrie usine emploi investissement PIB marchés", ["Économie", "Emploi",
                                                                       "Bourse", "Budget"]),
}
SECTION_SHARES = {"Société": ["climat", "elections"], "Culture": ["cinema", "cuisine"]}

GENERAL = ["le", "la", "les", "des", "une", "un", "dans", "pour", "avec", "sur", "par", "plus", "cette", "être", "après", "avant", "selon", "mais", "année", "jour", "semaine", "mois", "France", "Paris", "Lyon", "Marseille", "région", "ville", "pays", "monde", "national", "nouveau", "nouvelle", "grand", "grande", "premier", "première", "dernier", "dernière", "jeune", "public", "questions", "enquête", "annonce", "projet", "vie", "histoire", "temps", "moment", "point", "fin", "début", "face", "habitants", "samedi", "dimanche", "lundi", "matin", "soir", "hier", "soir", "résultats", "situation", "questions", "mesures", "décision", "chiffres", "rapport", "responsables", "accord", "crise", "conférence", "rencontre", "témoignage"]

_SYLLABLES = ["ba", "be", "bi", "bo", "bu", "ca", "ce", "ci", "co", "cu", "da", "de", "di", "do", "du", "fa", "fe", "fi", "fo", "ga", "ge", "gi", "go", "la", "le", "li", "lo", "lu", "ma", "me", "mi", "mo", "mu", "na", "ne", "ni", "no", "pa", "pe", "pi", "po", "pu", "ra", "re", "ri", "ro", "ru", "sa", "se", "si", "so", "ta", "te", "ti", "to", "tu", "va", "ve", "vi", "vo", "é", "è", "ê", "à", "ô", "î", "ç", "an", "en", "on", "in", "ou", "ai", "eau", "oi"]


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))


def synthetic_topics(count: int, rng: random.Random, words: int = 60) -> dict:
    """``count`` pseudo-French topics with distinct vocabularies (for big catalogues)."""
    sections = ["Politique", "Sport", "Culture", "Économie", "Société", "International",
                "Sciences", "Régions", "Faits divers", "Art de vivre"]
    topics = {}
    for i in range(count):
        vocab = " ".join(_word(rng) for _ in range(words))
        tags = [f"{_word(rng).capitalize()} {_word(rng)}" for _ in range(6)]
        topics[f"t{i}"] = (sections[i % len(sections)], vocab, tags)
    return topics


def make_corpus(n: int, seed: int = 7, topics: dict | None = None, host: str =
                "www.lequotidien.example", now: float = 1_790_000_000.0, general_extra: int = 0,
                max_age_days: int = 300, own_title: float = 0.5, own_description: float = 0.35,
                noise: float = 0.05, foreign_tag: float = 0.0) -> list[dict]:
    """``n`` raw article dicts (push-API shape) with a "topic" key added. ``own_*``: share of
    words drawn from the article's topic; ``noise``: share borrowed from a random other topic;
    ``foreign_tag``: chance that one tag comes from another topic."""
    rng = random.Random(seed)
    topics = topics or TOPICS
    general = list(GENERAL) + [_word(rng) for _ in range(general_extra)]
    cumulative, total = [], 0.0
    for rank in range(len(general)):  # Zipf: the word of rank r has weight 1 / (r + 1)
        total += 1.0 / (rank + 1)
        cumulative.append(total)
    names = sorted(topics)
    out = []
    for i in range(n):
        topic = names[i % len(names)]
        section, vocab, tags = topics[topic]
        words = vocab.split()
        for name, shared in SECTION_SHARES.items():
            if topic in shared and rng.random() < 0.5:
                section = name

        def pick(k: int, own: float, words=words) -> list[str]:
            chosen = []
            for _ in range(k):
                r = rng.random()
                if r < own:
                    chosen.append(rng.choice(words))
                elif r < own + noise:
                    other = topics[rng.choice(names)][1].split()
                    chosen.append(rng.choice(other))
                else:
                    chosen.append(rng.choices(general, cum_weights=cumulative)[0])
            return chosen

        title = " ".join(pick(rng.randint(6, 10), own_title)).capitalize()
        description = " ".join(pick(rng.randint(18, 30), own_description)).capitalize() + "."
        chosen_tags = rng.sample(tags, k=rng.randint(1, 3))
        if rng.random() < foreign_tag:
            chosen_tags[-1] = rng.choice(topics[rng.choice(names)][2])
        out.append({
            "url": f"https://{host}/{topic}/{i:06d}-article.html",
            "title": title,
            "description": description,
            "section": section,
            "tags": chosen_tags,
            "published": int(now - rng.random() * max_age_days * 86400),
            "image": f"https://{host}/img/{i}.jpg",
            "image_width": 1200, "image_height": 675,
            "lang": "fr",
            "topic": topic,
        })
    return out
