"""CLI: ``flask --app wsgi storage ...``: the store itself.

    storage info                      the store (one Redis or a cluster), its masters, and where
                                      each shard of each site lives
    storage migrate [--dry-run]       merge the keys of the one-slot layout (before shards) into
                                      the sharded one, in place; safe to run twice or while the
                                      service runs (storage/migrate.py)
    storage migrate --from URL        read the old layout from another store (e.g. the one Redis
                                      left for a cluster: REDIS_CLUSTER_NODES names the target)
                                      and copy its other keys too; the source is not modified
"""

from __future__ import annotations

from collections import Counter

import click
from flask import current_app
from flask.cli import AppGroup

from ..storage import client as storage_client
from ..storage import keyspace, migrate

storage_cli = AppGroup("storage", help="The Redis store: layout, shards, migration.")


@storage_cli.command("info")
def storage_info():
    """Show the store, its masters, and the masters of each site's shards."""
    settings = current_app.config
    client = storage_client.client_for(settings)
    try:
        if storage_client.is_cluster(client):
            cluster = storage_client.real_cluster(client)
            primaries = sorted(n.name for n in cluster.get_primaries())
            click.echo(f"Redis Cluster: {len(primaries)} masters ({', '.join(primaries)})")
            for site in settings["SITES"]:
                where = Counter(cluster.get_node_from_key(keyspace.site_totals(site, s)).name
                                for s in range(keyspace.SHARDS))
                spread = ", ".join(f"{name} {where.get(name, 0)}" for name in primaries)
                click.echo(f"site {site}: {keyspace.SHARDS} shards: {spread}; catalogue on "
                           f"{cluster.get_node_from_key(keyspace.catalogue_seq(site)).name}")
        else:
            info = client.info("server")
            click.echo(f"one Redis {info.get('redis_version')} at {settings['REDIS_URL']}: "
                       f"{client.dbsize()} keys; {keyspace.SHARDS} shards per site, one server")
    except storage_client.UNAVAILABLE as exc:
        raise click.ClickException(f"the store does not answer: {exc}") from exc
    finally:
        client.close()


@storage_cli.command("migrate")
@click.option("--from", "source_url", default=None, metavar="URL",
              help="Read the old layout from this redis:// / rediss:// / unix:// store (left "
                   "untouched) and copy its other keys too.")
@click.option("--dry-run", is_flag=True, help="Only count what would be merged.")
def storage_migrate(source_url, dry_run):
    """Merge the counters of the one-slot layout into the sharded one (see --help)."""
    settings = current_app.config
    target = storage_client.client_for(settings, decode_responses=False, socket_timeout=30.0)
    source = (storage_client.from_url(source_url, 30.0, 5.0, decode_responses=False)
              if source_url else None)

    def progress(report):
        done = sum(report.merged.values()) + sum(report.deleted.values()) + report.copied
        click.echo(f"  ... {done} keys", err=True)

    try:
        report = migrate.migrate(target, source, dry_run=dry_run, progress=progress)
    except storage_client.UNAVAILABLE as exc:
        raise click.ClickException(f"the store does not answer: {exc} (run it again: "
                                   "nothing is merged twice)") from exc
    finally:
        target.close()
        if source is not None:
            source.close()
    click.echo(("dry run: nothing written\n" if dry_run else "") + "\n".join(report.lines()))


def init_app(app) -> None:
    app.cli.add_command(storage_cli)
