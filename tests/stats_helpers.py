"""Traffic generation and login helpers shared by the stats, dashboard and browser tests."""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from datetime import datetime
from zoneinfo import ZoneInfo

from support import BROWSER_UA, flush_recorder

from share_service.counting.events import parse_event

PARIS = ZoneInfo("Europe/Paris")
BASE = "https://www.lequotidien.example/politique/"
ARTICLES = [f"{BASE}article-{i}.html" for i in range(6)]
NETS = ["facebook", "x", "linkedin", "whatsapp"]


def generate(seed: int = 7, visitors: int = 40):
    """A reproducible day of traffic: [(ip, channel, event)] with no duplicate
    (visitor, article, type, network, target), so nothing is deduplicated."""
    rnd = random.Random(seed)
    out = []
    for v in range(visitors):
        ip = f"198.51.100.{v + 1}"
        for url in rnd.sample(ARTICLES, rnd.randint(1, 3)):
            for net in rnd.sample(NETS, rnd.randint(0, 3)):
                via = "redirect" if rnd.random() < 0.5 else "events"
                out.append((ip, via, {"type": "share", "url": url, "network": net}))
            for kind in ("copy", "qr", "native"):
                if rnd.random() < 0.3:
                    out.append((ip, "events", {"type": kind, "url": url}))
            if rnd.random() < 0.6:
                src = rnd.choice(NETS + ["copy", "qr"])
                out.append((ip, "events", {"type": "visit", "url": url, "network": src,
                                           "utm_medium": "social", "utm_campaign": "share"}))
            if rnd.random() < 0.5:
                out.append((ip, "events", {"type": "rec_impression", "url": url}))
                if rnd.random() < 0.5:
                    target = rnd.choice([a for a in ARTICLES if a != url])
                    out.append((ip, "events", {"type": "rec_click", "url": url, "target": target}))
    return out


def send(app, traffic):
    client = app.test_client()
    for ip, via, ev in traffic:
        env = {"REMOTE_ADDR": ip}
        headers = {"User-Agent": BROWSER_UA}
        if via == "redirect":
            resp = client.get(f"/s/{ev['network']}", query_string={"url": ev["url"]},
                              environ_base=env, headers=headers)
            assert resp.status_code == 302
        else:
            resp = client.post("/api/v1/events", json=ev, environ_base=env, headers=headers)
            assert resp.status_code == 204, resp.get_data(as_text=True)
    flush_recorder(app)


def expected(traffic):
    exp = {"total": 0, "networks": Counter(), "copy": 0, "qr": 0, "native": 0, "clickbacks": 0,
           "by_source": Counter(), "rec_impression": 0, "rec_click": 0,
           "per_article": Counter(), "per_article_net": defaultdict(Counter), "sharers": set(),
           "utm": defaultdict(Counter)}
    for ip, _via, ev in traffic:
        kind = ev["type"]
        if kind == "share":
            exp["total"] += 1
            exp["networks"][ev["network"]] += 1
            exp["per_article"][ev["url"]] += 1
            exp["per_article_net"][ev["network"]][ev["url"]] += 1
        elif kind == "visit":
            exp["clickbacks"] += 1
            exp["by_source"][ev["network"]] += 1
            exp["utm"][ev["url"]][(ev["network"], "social", "share")] += 1
        else:
            exp[kind] += 1
        if kind in ("share", "copy", "qr", "native"):
            exp["sharers"].add(ip)
    return exp


def record_at(app, when: datetime, event: dict, visitor: str):
    """Count one event at an explicit instant through the counting recorder (real Lua batch)."""
    ev = parse_event(event, app.extensions["articles"])
    ev.ts = when.timestamp()
    ev.visitor = visitor
    app.extensions["recorder"].add(ev)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(client, email, password, **extra):
    page = client.get("/login")
    data = {"email": email, "password": password, "csrf_token": csrf_of(page.get_data(as_text=True))}
    data.update(extra)
    return client.post("/login", data=data)
