"""CLI: ``flask --app wsgi recommend ...`` — the embedder of « Plus de contenu ».

    recommend embed [--site SITE] [--all] [--watch] [--batch N] [--snapshot]
        embed the articles queued since the last run (every article with --all: after a model
        change), all sites unless --site; a progress bar with an ETA on a terminal, a progress
        line per batch otherwise. --watch: keep embedding new articles as they arrive (every
        RECOMMEND_EMBED_INTERVAL seconds; the dedicated embedder process). --snapshot: then
        refresh the index snapshot web workers start from (when vectors changed). From cron:
        */2 * * * * .venv/bin/flask --app wsgi recommend embed --snapshot
    recommend status [--site SITE]
        articles, stored vectors and queued articles per site

Only this command loads the sentence-embedding model; web workers read the stored vectors.
Exit status 1 when the model cannot be loaded (recommendations then stay word-based).
"""

from __future__ import annotations

import logging
import signal
import sys
import time

import click
from flask import current_app
from flask.cli import with_appcontext

from ..errors import ApiError
from ..extensions import redis_client
from ..recommend import embedder as embedding
from ..recommend import vectors
from ..sharing.articles import site_by_id
from ..storage.client import UNAVAILABLE
from .catalogue import refresh_snapshots


def _sites(settings, site_id):
    try:
        return [site_by_id(settings, site_id)] if site_id else list(settings["SITES"].values())
    except ApiError as exc:
        raise click.ClickException(exc.message) from exc


class _Progress:
    """A progress bar with an ETA on a terminal; one line per batch otherwise (logs, cron)."""

    def __init__(self, site_id: str, tty: bool):
        self.site_id, self.tty = site_id, tty
        self.bar = None
        self.started = time.monotonic()
        self.done = 0

    def __call__(self, done: int, total: int) -> None:
        if not total:
            return
        if self.tty:
            if self.bar is None:
                self.bar = click.progressbar(length=total, label=f"{self.site_id}: embedding",
                                             show_eta=True, show_pos=True, file=sys.stderr)
                self.bar.__enter__()
            self.bar.update(done - self.done)
        elif done:
            elapsed = time.monotonic() - self.started
            eta = elapsed / done * (total - done)
            click.echo(f"{self.site_id}: {done}/{total} ({100 * done // total} %), "
                       f"{done / elapsed if elapsed else 0:,.0f} articles/s, ETA {eta:,.0f} s")
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


@click.group("recommend")
def recommend_group():
    """« Plus de contenu »: the sentence vectors of the catalogue."""


@recommend_group.command("embed")
@click.option("--site", "site_id", default=None, help="Site id (default: every site).")
@click.option("--all", "everything", is_flag=True,
              help="Embed every article again, not only the queued ones.")
@click.option("--watch", is_flag=True, help="Keep embedding new articles (runs until stopped).")
@click.option("--batch", type=click.IntRange(min=1, max=4096), default=None,
              help="Articles per model call (default RECOMMEND_EMBED_BATCH).")
@click.option("--snapshot", "refresh_snapshot", is_flag=True,
              help="Then bring the recommendation index snapshot (with its vectors) up to date.")
@with_appcontext
def embed_command(site_id, everything, watch, batch, refresh_snapshot):
    """Embed the queued articles of the catalogue (see --help)."""
    settings = current_app.config
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    sites = _sites(settings, site_id)
    client = redis_client()
    model = embedding.Embedder(threads=settings["RECOMMEND_EMBED_THREADS"])
    batch = batch or int(settings["RECOMMEND_EMBED_BATCH"])
    tty = sys.stderr.isatty() and not watch
    interval = float(settings["RECOMMEND_EMBED_INTERVAL"])
    first = True
    snapshots: dict[str, float] = {}
    if watch:   # `docker stop`, systemd: finish cleanly (the site's lock is released)
        signal.signal(signal.SIGTERM, _interrupt)
    try:
        while True:
            for site in sites:
                progress = _Progress(site.id, tty)
                try:
                    report = vectors.embed_pending(
                        client, site.id, model, model=embedding.MODEL_ID, batch=batch,
                        everything=everything and first, progress=progress)
                except UNAVAILABLE as exc:
                    if not watch:
                        raise click.ClickException(f"Redis unavailable: {exc}") from exc
                    click.echo(f"{site.id}: Redis unavailable ({exc}); trying again in "
                               f"{interval:.0f} s")
                    continue
                finally:
                    progress.close()
                if report.failure:
                    raise click.ClickException(
                        f"the sentence-embedding model cannot be loaded ({report.failure}); "
                        "recommendations stay word-based")
                if report.queued or report.busy or not watch:
                    click.echo(report.line())
                if refresh_snapshot and (report.embedded or report.removed) and (
                        not watch or time.monotonic() - snapshots.get(site.id, -1e9) >= 600):
                    refresh_snapshots(client, settings, [site])   # (at most every 10 min in --watch)
                    snapshots[site.id] = time.monotonic()
            first = False
            if not watch:
                return
            time.sleep(interval)
    except KeyboardInterrupt:
        click.echo("stopped")


def _interrupt(signum, frame):
    raise KeyboardInterrupt


@recommend_group.command("status")
@click.option("--site", "site_id", default=None, help="Site id (default: every site).")
@with_appcontext
def status_command(site_id):
    """Articles, stored vectors and articles waiting to be embedded, per site."""
    client = redis_client()
    for site in _sites(current_app.config, site_id):
        st = vectors.state(client, site.id, embedding.MODEL_ID)
        click.echo(f"{site.id}: {st['articles']} articles, {st['vectors']} vectors "
                   f"({embedding.MODEL_ID}), {st['pending']} queued")


def init_app(app) -> None:
    app.cli.add_command(recommend_group)
