"""CSV answers of the stats API: the same figures as the JSON, one row per line, streamed.
Text cells that a spreadsheet would run as a formula are neutralised. No Flask."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from .queries import REC_FIELDS, SCALARS


def _num(v) -> str:
    if v is None:
        return ""
    return str(v)


def summary_rows(data: dict) -> Iterator[list]:
    yield ["metric", "current", "previous", "change"]
    cur, prev, change = data["current"], data["previous"], data["change"]
    for name in SCALARS:
        yield [name, _num(cur[name]), _num(prev[name]), _num(change[name])]
    for net, v in cur["networks"].items():
        yield [f"share:{net}", v, prev["networks"].get(net, 0), _num(change["networks"][net])]
    for src, v in cur["clickbacks_by_source"].items():
        yield [f"visit:{src}", v, prev["clickbacks_by_source"].get(src, 0),
               _num(change["clickbacks_by_source"][src])]
    # « Plus de contenu » per method: rec_impression:words, rec_click:words, rec_ctr:words, ...
    for method, by in cur["rec_by_method"].items():
        for name in (*REC_FIELDS, "rec_ctr"):
            yield [f"{name}:{method}", _num(by[name]), _num(prev["rec_by_method"][method][name]),
                   _num(change["rec_by_method"][method][name])]


def _series_columns(points) -> list[str]:
    return sorted({n for p in points for n in p["networks"]})


def timeseries_rows(data: dict) -> Iterator[list]:
    nets = _series_columns(data["points"])
    yield ["t", "total", *[f"share:{n}" for n in nets], "copy", "qr", "native", "clickbacks",
           "rec_impression", "rec_click"]
    for p in data["points"]:
        yield [p["t"], p["total"], *[p["networks"].get(n, 0) for n in nets], p["copy"], p["qr"],
               p["native"], p["clickbacks"], p["rec_impression"], p["rec_click"]]


def top_rows(data: dict) -> Iterator[list]:
    yield ["rank", "id", "url", "title", "shares"]
    for it in data["items"]:
        yield [it["rank"], it["id"], it["url"] or "", it["title"] or "", it["shares"]]


def article_rows(data: dict) -> Iterator[list]:
    nets = _series_columns(data["series"])
    yield ["t", "total", *[f"share:{n}" for n in nets], "copy", "qr", "native", "clickbacks"]
    for p in data["series"]:
        yield [p["t"], p["total"], *[p["networks"].get(n, 0) for n in nets], p["copy"], p["qr"],
               p["native"], p["clickbacks"]]
    if data["utm"]:
        yield []
        yield ["utm_source", "utm_medium", "utm_campaign", "visits"]
        for u in data["utm"]:
            yield [u["source"], u["medium"], u["campaign"], u["visits"]]


def _safe_cell(value) -> str:
    """Neutralise spreadsheet formulas (CSV injection): a text cell starting with = + - @ gets
    a leading apostrophe. Numbers are written as they are."""
    text = str(value)
    if text and text[0] in "=+-@\t\r" and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def csv_lines(rows: Iterable[list]) -> Iterator[str]:
    """Stream rows as CSV text, one line at a time."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_safe_cell(v) for v in row])
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
