"""The newcomer's demo: an original sample article in French and a small sample catalogue of
other articles for its « Plus de contenu » box. Plain data and one seeding function; no Flask.

Every text here is written for this project (fictional town, people and figures). The sample
articles live under ``<service>/demo/<slug>`` and are put in the catalogue through the catalogue
store (share_service.catalogue.store), like any pushed article, the first time /demo is shown.
"""

from __future__ import annotations

import time

LEAD = {
    "slug": "",
    "section": "Environnement",
    "author": "Claire Vasseur",
    "title": "À Valmont-sur-Loire, la rivière revient au cœur de la ville",
    "description": (
        "Couverte depuis 1962, la Brenne coule de nouveau à l'air libre sur 800 mètres. "
        "Un chantier de trois ans qui change la vie du quartier de la gare."
    ),
    "days_ago": 0,
    "body": [
        "Il a fallu trois ans de chantier, deux hivers de crues et une pétition de 4 000 "
        "signatures, mais la Brenne coule de nouveau à l'air libre dans le centre de "
        "Valmont-sur-Loire. Samedi matin, plusieurs centaines d'habitants se sont pressés sur "
        "la nouvelle passerelle pour voir l'eau filer là où, pendant soixante ans, passait "
        "un parking de 240 places.",
        "« Mes parents m'en parlaient comme d'une légende », sourit Mathilde Rocher, 34 ans, "
        "qui a grandi rue des Tanneurs. « On savait qu'il y avait une rivière sous nos pieds, "
        "on l'entendait parfois par les grilles après un orage. La voir enfin, c'est "
        "émouvant. »",
        "Couverte en 1962 pour des raisons d'hygiène et de circulation, la Brenne avait été "
        "transformée en simple canal bétonné. Sa réouverture, sur 800 mètres, a coûté "
        "11,4 millions d'euros, financés pour moitié par l'agence de l'eau. Les berges ont été "
        "reprofilées en pente douce, plantées de saules et d'iris, et un seuil infranchissable "
        "pour les poissons a été supprimé.",
        "Les premiers effets se mesurent déjà. Selon le bureau d'études chargé du suivi, la "
        "température relevée au bord de l'eau pendant l'épisode de chaleur de juillet était "
        "inférieure de 2 à 3 degrés à celle des rues voisines. Des truites fario ont été "
        "observées dès le printemps, une première depuis les années 1970.",
        "Tout le monde n'est pas convaincu. Les commerçants de l'avenue de la Gare, privés "
        "d'une partie du stationnement, disent avoir perdu jusqu'à 15 % de leur chiffre "
        "d'affaires pendant les travaux. « La rivière, c'est beau, mais il faut que les "
        "clients puissent venir », résume Karim Belhadj, fleuriste. La mairie promet un "
        "parking relais et une navette gratuite d'ici l'été prochain.",
        "Le maire, Étienne Morvan, veut désormais aller plus loin : une seconde tranche de "
        "600 mètres, en amont, est à l'étude. Une réunion publique est prévue le 12 janvier "
        "à la salle des fêtes pour présenter les scénarios.",
    ],
}

# Other articles of the sample site: what « Plus de contenu » recommends under the lead.
CATALOGUE = [
    {
        "slug": "marche-couvert-rouvre",
        "section": "Société",
        "title": "Le marché couvert rouvre après dix-huit mois de travaux",
        "description": "Trente-deux étals, une halle vitrée et des horaires élargis le jeudi soir.",
        "tags": ["commerce", "centre-ville"],
        "days_ago": 1,
    },
    {
        "slug": "crues-plan-prevention",
        "section": "Environnement",
        "title": "Crues : ce que change le nouveau plan de prévention de la Loire",
        "description": "Quatre communes voient leur zone inondable redessinée ; les maires "
                       "demandent un délai.",
        "tags": ["rivière", "inondations", "urbanisme"],
        "days_ago": 3,
    },
    {
        "slug": "saules-berges-biodiversite",
        "section": "Sciences",
        "title": "Des saules et des iris : pourquoi les berges végétalisées rafraîchissent "
                 "la ville",
        "description": "Une hydrologue explique comment une rivière à ciel ouvert abaisse la "
                       "température des rues voisines.",
        "tags": ["rivière", "climat", "biodiversité"],
        "days_ago": 5,
    },
    {
        "slug": "navette-gratuite-gare",
        "section": "Transports",
        "title": "Une navette gratuite entre le parking relais et la gare dès l'été",
        "description": "Toutes les dix minutes aux heures de pointe, avec un arrêt au marché "
                       "couvert.",
        "tags": ["mobilité", "centre-ville"],
        "days_ago": 2,
    },
    {
        "slug": "festival-conte-brenne",
        "section": "Culture",
        "title": "Le festival du conte s'installe au bord de la Brenne",
        "description": "Trois soirées de récits en plein air, sur les nouvelles berges, du 4 "
                       "au 6 juillet.",
        "tags": ["festival", "rivière"],
        "days_ago": 6,
    },
    {
        "slug": "club-canoe-jeunes",
        "section": "Sport",
        "title": "Le club de canoë accueille ses premiers jeunes sur la rivière rouverte",
        "description": "Une section pour les 8-12 ans, encadrée par deux moniteurs diplômés.",
        "tags": ["canoë", "jeunesse", "rivière"],
        "days_ago": 8,
    },
]

BY_SLUG = {a["slug"]: a for a in [LEAD, *CATALOGUE]}


def article_url(base_url: str, slug: str) -> str:
    """Where a sample article lives on this service."""
    return f"{base_url.rstrip('/')}/demo" + (f"/{slug}" if slug else "")


IMAGE_SIZE = (640, 360)


def image_url(base_url: str, slug: str) -> str:
    """The sample article's illustration, a static SVG of this service (drawn for the demo)."""
    return f"{base_url.rstrip('/')}/static/demo-{slug or 'lead'}.svg"


def records(base_url: str, now: float | None = None) -> list[dict]:
    """The sample articles as raw catalogue records (for catalogue.normalize).
    Dates count back from the start of the current day, so one day's records are identical."""
    now = time.time() if now is None else now
    today = now - now % 86400
    out = []
    for art in [LEAD, *CATALOGUE]:
        out.append({
            "url": article_url(base_url, art["slug"]),
            "title": art["title"],
            "description": art["description"],
            "section": art["section"],
            "tags": art.get("tags", ["rivière"]),
            "lang": "fr",
            "author": art.get("author", "La rédaction"),
            "image": image_url(base_url, art["slug"]),
            "image_width": IMAGE_SIZE[0],
            "image_height": IMAGE_SIZE[1],
            "published": int(today - art["days_ago"] * 86400),
        })
    return out


def seed(client, site, base_url: str) -> int:
    """Put the sample articles in ``site``'s catalogue unless they are there already.
    Returns how many records changed (0 when already seeded)."""
    from ...catalogue import store
    from ...catalogue.records import normalize
    from ...sharing import urls
    from ...storage import keyspace

    lead_aid = keyspace.article_id(urls.canonical(article_url(base_url, "")))
    lead = store.get_articles(client, site.id, [lead_aid]).get(lead_aid)
    if lead and lead.get("image") == image_url(base_url, ""):
        return 0
    normalized = [normalize(raw, site, "push") for raw in records(base_url)]
    return len(store.save_articles(client, site.id, normalized))
