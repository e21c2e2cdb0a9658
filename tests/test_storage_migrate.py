"""``flask --app wsgi storage migrate``: the counters of the one-slot layout (every key of a site
under ``{site}``, as the service wrote them before shards) merged into the sharded layout, on
one Redis and on a cluster: every figure the same afterwards, nothing counted twice when run
again, resumed after a crash, or with an old process still writing; ``--from`` another store."""

from __future__ import annotations

import random
from collections import Counter, defaultdict

import pytest
from support import all_keys

from share_service.counting import reads
from share_service.storage import client as storage_client
from share_service.storage import embedded, keyspace, migrate

pytestmark = pytest.mark.both_backends

SITE = "default"
HOST = "https://www.lequotidien.example"
DAYS = ["20261124", "20261125", "20261126"]
NETS = ["facebook", "x", "linkedin"]
TTL = 400 * 86400


def old(*parts: str) -> str:
    """A key of the layout before shards, as version 0.1 named it: ss:{site}:<family>:..."""
    return ":".join([f"{keyspace.PREFIX}:{{{SITE}}}", *parts])


def write_old_layout(redis, seed: int = 3, articles: int = 40, events: int = 400) -> dict:
    """Counters as the old record.lua left them, for random shares; returns what a reader must
    find afterwards."""
    rnd = random.Random(seed)
    urls = [f"{HOST}/archives/{i}.html" for i in range(articles)]
    exp = {"article": defaultdict(Counter), "day": defaultdict(Counter),
           "hour": defaultdict(Counter), "total": Counter(), "top": defaultdict(Counter),
           "sharers": defaultdict(set), "urls": {}}
    pipe = redis.pipeline(transaction=False)  # every old key of a site is in its one slot
    for _ in range(events):
        url, day, net = rnd.choice(urls), rnd.choice(DAYS), rnd.choice(NETS)
        hour, visitor = day + f"{rnd.randrange(24):02d}", f"v{rnd.randrange(150)}"
        aid = keyspace.article_id(url)
        field = "share:" + net
        pipe.hset(old("urls"), aid, url)
        for key in (old("t", aid), old("ad", aid, day), old("sd", day), old("sh", hour), old("st")):
            pipe.hincrby(key, field, 1)
        pipe.zincrby(old("top", day), 1, aid)
        pipe.zincrby(old("top", day, net), 1, aid)
        pipe.pfadd(old("uv", day), visitor)
        pipe.pfadd(old("uva", aid, day), visitor)
        pipe.set(old("dd", f"{rnd.getrandbits(96):024x}"), "1", ex=3600)
        exp["article"][url][net] += 1
        exp["day"][day][field] += 1
        exp["hour"][hour][field] += 1
        exp["total"][field] += 1
        exp["top"][day][aid] += 1
        exp["sharers"][day].add(visitor)
        exp["urls"][aid] = url
    for day in DAYS:
        for key in (old("sd", day), old("top", day), old("uv", day), *[old("top", day, n) for n in NETS]):
            pipe.expire(key, TTL)
    pipe.hset(old("sumc", "20261124-20261125"), mapping={"_built": "1", "share:x": "1"})
    pipe.execute()
    return exp


def assert_figures(redis, exp: dict, factor: int = 1) -> None:
    for url, nets in exp["article"].items():
        counts = reads.article_counts(redis, SITE, url)
        assert counts["networks"] == {n: c * factor for n, c in nets.items()}, url
    for day, fields in exp["day"].items():
        assert reads.site_day_counts(redis, SITE, day) == {f: c * factor for f, c in fields.items()}
        # HyperLogLogs of ~150 visitors: within 2 %; merged, never summed
        assert abs(reads.unique_sharers(redis, SITE, day) - len(exp["sharers"][day])) <= 3
        best = exp["top"][day].most_common(5)
        top = reads.top_articles(redis, SITE, day, limit=5)
        assert [t["shares"] for t in top] == [n * factor for _, n in best]
        assert all(t["url"] == exp["urls"][t["aid"]] for t in top)
    for hour, fields in list(exp["hour"].items())[:10]:
        assert reads.site_hour_counts(redis, SITE, hour) == {f: c * factor for f, c in fields.items()}
    assert reads.site_total_counts(redis, SITE) == {f: c * factor for f, c in exp["total"].items()}


def old_keys_left(redis) -> list[str]:
    return [k for k in all_keys(redis) if keyspace.parse_legacy(k) is not None]


@pytest.fixture
def raw(raw_redis):
    return raw_redis


def test_in_place_every_figure_survives_and_a_second_run_changes_nothing(redis, raw):
    exp = write_old_layout(redis)
    redis.hset(keyspace.article(SITE, "0123456789abcdef"), "title", "catalogue: untouched")
    report = migrate.migrate(raw)
    assert report.merged["t"] == len(exp["article"]) and report.merged["sd"] == len(DAYS)
    assert report.deleted["dd"] > 0 and report.deleted["sumc"] == 1
    assert old_keys_left(redis) == []
    assert_figures(redis, exp)
    # the day keys kept their time to live
    shard = keyspace.shard_of(next(iter(exp["top"][DAYS[0]])))
    assert TTL - 60 < redis.ttl(keyspace.top_day(SITE, shard, DAYS[0])) <= TTL
    assert redis.hget(keyspace.article(SITE, "0123456789abcdef"), "title") == "catalogue: untouched"
    again = migrate.migrate(raw)
    assert sum(again.merged.values()) == 0 and again.already == 0
    assert_figures(redis, exp)


def test_merges_into_what_the_new_version_already_counted(redis, raw, app, flush):
    exp = write_old_layout(redis, seed=5)
    url = next(iter(exp["article"]))
    response = app.test_client().get("/s/facebook", query_string={"url": url},
                                     headers={"User-Agent": "Mozilla/5.0 (X11; Linux) Firefox/1"})
    assert response.status_code == 302
    assert flush() == 1
    migrate.migrate(raw)
    counts = reads.article_counts(redis, SITE, url)
    assert counts["networks"].get("facebook", 0) == exp["article"][url]["facebook"] + 1


def test_resumed_after_a_crash_counts_nothing_twice(redis, raw, monkeypatch):
    exp = write_old_layout(redis, seed=7)

    def crash(*_args):
        raise RuntimeError("killed after merging, before deleting")

    monkeypatch.setattr(migrate, "_forget", crash)
    with pytest.raises(RuntimeError):
        migrate.migrate(raw)
    assert old_keys_left(redis)  # claimed (renamed), merged, not deleted
    monkeypatch.undo()
    report = migrate.migrate(raw)
    assert report.already > 0
    assert old_keys_left(redis) == []
    assert_figures(redis, exp)


def test_an_old_process_writing_meanwhile_is_picked_up_by_the_next_run(redis, raw):
    exp = write_old_layout(redis, seed=9)
    migrate.migrate(raw)
    url = next(iter(exp["article"]))
    aid = keyspace.article_id(url)
    redis.hincrby(old("t", aid), "share:x", 2)  # an old worker, still running, counts again
    migrate.migrate(raw)
    assert reads.article_counts(redis, SITE, url)["networks"].get("x", 0) == \
        exp["article"][url]["x"] + 2


def test_from_another_store_copies_the_rest_and_leaves_the_source_alone(redis, raw, tmp_path):
    server = embedded.EmbeddedRedis(tmp_path / "old-redis", persistent=False).start()
    try:
        source = storage_client.from_url(server.url)
        exp = write_old_layout(source, seed=11)
        source.hset(keyspace.article(SITE, "0123456789abcdef"), mapping={"url": HOST + "/a",
                                                                          "title": "Titre"})
        source.hset(keyspace.user("ed@exemple.fr"), mapping={"email": "ed@exemple.fr"})
        source.sadd(keyspace.users(), "ed@exemple.fr")
        source.set(keyspace.daily_salt("20261126"), "ab" * 32, ex=7200)
        before = source.dbsize()
        raw_source = storage_client.from_url(server.url, decode_responses=False)
        report = migrate.migrate(raw, raw_source)
        assert report.copied == 4
        assert source.dbsize() == before  # untouched
        assert_figures(redis, exp)
        assert redis.hget(keyspace.article(SITE, "0123456789abcdef"), "title") == "Titre"
        assert redis.smembers(keyspace.users()) == {"ed@exemple.fr"}
        assert 7000 < redis.ttl(keyspace.daily_salt("20261126")) <= 7200
        again = migrate.migrate(raw, raw_source)  # run twice: nothing counted twice
        assert again.already > 0
        assert_figures(redis, exp)
        raw_source.close()
        source.close()
    finally:
        server.stop()


def test_cli_dry_run_then_migrate(redis, make_app):
    exp = write_old_layout(redis, seed=13)
    runner = make_app().test_cli_runner()
    before = old_keys_left(redis)
    moving = [k for k in before if keyspace.parse_legacy(k)[1] in migrate.OPS]
    dry = runner.invoke(args=["storage", "migrate", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "dry run: nothing written" in dry.output
    assert f"old counting keys merged into shards: {len(moving)} " in dry.output
    assert sorted(old_keys_left(redis)) == sorted(before)
    result = runner.invoke(args=["storage", "migrate"])
    assert result.exit_code == 0, result.output
    assert "sites: default" in result.output
    assert old_keys_left(redis) == []
    assert_figures(redis, exp)
    info = runner.invoke(args=["storage", "info"])
    assert info.exit_code == 0, info.output
    assert f"{keyspace.SHARDS} shards" in info.output
