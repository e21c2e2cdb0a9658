"""Turn the hand-written sources in catalogues/src/*.txt into catalogues/*.json.

Source format (one article per line, fields separated by " | "):

    @name fr_hard_overlap
    @lang fr
    @host www.example-news.fr
    @description what makes it hard
    == story-id
    Section | tag1; tag2 | Title | Description            (article in the catalogue's @lang)
    de | Section | tag1 | Title | Description             (mixed catalogues: the article's lang first)

Ids are <name>-NNN in file order; URLs are https://<host>/<section-slug>/<title-slug>.
"""
from __future__ import annotations

import json
import re
import sys
import unicodedata
from pathlib import Path

HERE = Path(__file__).resolve().parent
HOSTS = {"fr": "www.example-news.fr", "en": "www.example-news.com", "de": "www.example-news.de",
         "es": "www.example-news.es", "it": "www.example-news.it", "nl": "www.example-news.nl",
         "pt": "www.example-news.pt"}


def slug(text: str, limit: int = 70) -> str:
    text = unicodedata.normalize("NFKD", text.lower().replace("œ", "oe").replace("ß", "ss"))
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    return text[:limit].rstrip("-") or "article"


def build(src: Path) -> dict:
    meta, articles, story = {}, [], None
    for n, line in enumerate(src.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("@"):
            key, _, value = line[1:].partition(" ")
            meta[key] = value.strip()
            continue
        if line.startswith("=="):
            story = line[2:].strip()
            continue
        fields = [f.strip() for f in line.split(" | ")]
        if len(fields) == 5:
            lang, section, tags, title, description = fields
        elif len(fields) == 4:
            lang = meta["lang"]
            section, tags, title, description = fields
        else:
            sys.exit(f"{src}:{n}: expected 4 or 5 fields, got {len(fields)}")
        if story is None:
            sys.exit(f"{src}:{n}: article before any == story line")
        host = HOSTS.get(lang, meta.get("host", HOSTS["fr"])) if meta["lang"] == "multi" \
            else meta.get("host", HOSTS.get(lang))
        articles.append({
            "id": f"{meta['name']}-{len(articles) + 1:03d}",
            "url": f"https://{host}/{slug(section, 30)}/{slug(title)}-{len(articles) + 1}",
            "title": title,
            "description": description,
            "section": section,
            "tags": [t.strip() for t in tags.split(";") if t.strip()],
            "lang": lang,
            "story": story,
        })
    return {"name": meta["name"], "lang": meta["lang"], "description": meta["description"],
            "articles": articles}


def main():
    for src in sorted((HERE / "src").glob("*.txt")):
        cat = build(src)
        out = HERE / f"{cat['name']}.json"
        out.write_text(json.dumps(cat, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"{out.name}: {len(cat['articles'])} articles")


if __name__ == "__main__":
    main()
