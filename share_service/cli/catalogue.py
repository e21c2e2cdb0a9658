"""CLI: ``flask --app wsgi ingest ...``.

    ingest URL [--site SITE] [--no-pages]      a feed, a sitemap (index, news, .gz) or a page, once;
                                               the URL is remembered for refreshes
    ingest --refresh [--site SITE] [--every SECONDS]
                                               re-read every remembered URL with conditional GETs
                                               (all sites unless --site); --every loops forever
    ingest --list [--site SITE]                the remembered sources and their last outcome
    ingest ... --snapshot                      then refresh the recommendation index snapshot in
                                               INSTANCE_PATH/recommend (web workers start from it)

Exit status 1 when a source given on the command line was rejected.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from ..catalogue import ingest as ingesting
from ..catalogue import store
from ..errors import ApiError
from ..extensions import redis_client
from ..sharing.articles import site_by_id, site_for_url


def _line(report: ingesting.Report, indent: str = "") -> str:
    if report.status == "rejected":
        return f"{indent}{report.url}: rejected ({report.reason})"
    if report.status == "not_modified":
        return f"{indent}{report.url}: not modified (304)"
    totals = report.totals()
    return (f"{indent}{report.url}: {report.kind}, {totals['found']} items, {totals['valid']} "
            f"valid, {totals['changed']} new or changed, {totals['skipped']} skipped"
            + (f", {totals['pages']} pages fetched" if totals["pages"] else ""))


def _echo(report: ingesting.Report) -> None:
    click.echo(_line(report))
    for child in report.children:
        click.echo(_line(child, "  "))


@click.command("ingest")
@click.argument("url", required=False)
@click.option("--site", "site_id", default=None,
              help="Site id (default: the site owning the URL's host; with --refresh, all).")
@click.option("--refresh", is_flag=True, help="Re-read every remembered source.")
@click.option("--every", type=click.IntRange(min=10), default=None,
              help="With --refresh: repeat every SECONDS (runs until stopped).")
@click.option("--list", "list_sources", is_flag=True, help="Show the remembered sources.")
@click.option("--no-pages", is_flag=True, help="Do not fetch article pages for plain sitemaps.")
@click.option("--snapshot", is_flag=True,
              help="Then bring the recommendation index snapshot up to date (fast worker starts).")
@with_appcontext
def ingest_command(url, site_id, refresh, every, list_sources, no_pages, snapshot):
    """Ingest a feed, a sitemap or an article page into the catalogue (see --help)."""
    settings = current_app.config
    client = redis_client()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        if url:  # the site named, else the one owning the URL's host
            sites = [site_for_url(settings, site_id, url)]
        else:
            sites = ([site_by_id(settings, site_id)] if site_id
                     else list(settings["SITES"].values()))
    except ApiError as exc:
        raise click.ClickException(exc.message) from exc
    if list_sources:
        for site in sites:
            for source, state in store.list_sources(client, site.id).items():
                click.echo(f"{site.id}\t{source}\t{json.dumps(state, sort_keys=True)}")
        return
    if url:
        if refresh or every:
            raise click.UsageError("give either a URL or --refresh")
        report = ingesting.ingest_url(client, settings, sites[0], url, fetch_pages=not no_pages)
        _echo(report)
        if snapshot:
            refresh_snapshots(client, settings, sites)
        if report.status == "rejected":
            raise SystemExit(1)
        return
    if not refresh and not snapshot:
        raise click.UsageError("give a URL to ingest, or --refresh, --snapshot or --list")
    while True:
        started = time.monotonic()
        if refresh:
            for site in sites:
                for report in ingesting.refresh(client, settings, site,
                                                fetch_pages=not no_pages):
                    _echo(report)
        if snapshot:
            refresh_snapshots(client, settings, sites)
        if not every:
            return
        time.sleep(max(1.0, every - (time.monotonic() - started)))


def refresh_snapshots(client, settings, sites) -> None:
    """Load each site's index snapshot (if any), sync it with the catalogue (and its vectors),
    save it: web workers then start from it instead of reading the whole catalogue."""
    from ..recommend import Recommender

    folder = Path(current_app.instance_path) / "recommend"
    recommender = Recommender(settings, cache_size=0, snapshot_dir=folder)
    recommender.background_min = 0      # load here, whatever the size
    for site in sites:
        started = time.monotonic()
        index = recommender.index(client, site)
        if not index.bulk_synced:  # (a bulk sync saved it already)
            index.save_snapshot(str(folder / f"{site.id}.index"))
        click.echo(f"{site.id}: index snapshot of {len(index)} articles "
                   f"({time.monotonic() - started:.1f} s)")


def init_app(app) -> None:
    app.cli.add_command(ingest_command)
