"""CLI: ``flask --app wsgi users ...`` and ``flask --app wsgi keys ...``.

    users create EMAIL --role viewer|admin [--site SITE ...] [--password-stdin]
    users list
    users delete EMAIL
    keys create NAME --role viewer|admin [--site SITE ...] [--expires DAYS]   (key alone on the last line)
    keys list
    keys revoke ID_OR_NAME

A user or key given no ``--site`` covers every site.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click
from flask import current_app
from flask.cli import AppGroup

from ..accounts import api_keys, principals, users
from ..errors import ApiError
from ..extensions import redis_client

users_cli = AppGroup("users", help="Dashboard users (viewer / admin).")
keys_cli = AppGroup("keys", help="API keys for the stats API (X-Api-Key header).")


def _when(ts) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC") if ts else "-"


def _fail(exc: ApiError):
    raise click.ClickException(exc.message)


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(principals.ROLES), default="viewer", show_default=True)
@click.option("--site", "sites", multiple=True, help="Site id (repeatable). None: every site.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--replace", is_flag=True, help="Overwrite an existing user (e.g. new password).")
def users_create(email, role, sites, password_stdin, replace):
    """Create a dashboard user; the password is asked for (or read from stdin)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = users.create_user(redis_client(), email, password, role, list(sites),
                                known_sites=current_app.config["SITES"], replace=replace)
    except ApiError as exc:
        _fail(exc)
    scope = ", ".join(user["sites"]) if user["sites"] else "all sites"
    click.echo(f"created user {user['email']} ({user['role']}, {scope})")


@users_cli.command("list")
def users_list():
    """List users: e-mail, role, sites, created, last login."""
    rows = users.list_users(redis_client())
    if not rows:
        click.echo("no users")
        return
    for u in rows:
        scope = ",".join(u["sites"]) if u["sites"] else "*"
        click.echo(f"{u['email']}\t{u['role']}\t{scope}\tcreated {_when(u['created'])}"
                   f"\tlast login {_when(u['last_login'])}")


@users_cli.command("delete")
@click.argument("email")
def users_delete(email):
    """Delete a user and end their sessions."""
    if not users.delete_user(redis_client(), email):
        raise click.ClickException(f"no user {email}")
    click.echo(f"deleted user {email.strip().lower()}")


@keys_cli.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(principals.ROLES), default="viewer", show_default=True)
@click.option("--site", "sites", multiple=True, help="Site id (repeatable). None: every site.")
@click.option("--expires", type=float, default=None, help="Days until the key expires.")
def keys_create(name, role, sites, expires):
    """Create an API key. The key is printed once, alone on the last line."""
    try:
        raw, record = api_keys.create_api_key(redis_client(), name, role, list(sites), expires,
                                          known_sites=current_app.config["SITES"])
    except ApiError as exc:
        _fail(exc)
    scope = ", ".join(record["sites"]) if record["sites"] else "all sites"
    click.echo(f"created key {record['id']} '{record['name']}' ({record['role']}, {scope}, "
               f"expires {_when(record['expires']) if record['expires'] else 'never'})")
    click.echo("store it now: it is not kept and cannot be shown again")
    click.echo(raw)


@keys_cli.command("list")
def keys_list():
    """List keys: id, name, role, sites, status, created, expires, last used."""
    rows = api_keys.list_api_keys(redis_client())
    if not rows:
        click.echo("no keys")
        return
    for k in rows:
        scope = ",".join(k["sites"]) if k["sites"] else "*"
        click.echo(f"{k['id']}\t{k['name']}\t{k['role']}\t{scope}\t{k['status']}"
                   f"\tcreated {_when(k['created'])}\texpires {_when(k['expires'])}"
                   f"\tlast used {_when(k['last_used'])}")


@keys_cli.command("revoke")
@click.argument("id_or_name")
def keys_revoke(id_or_name):
    """Revoke a key by id (or every key with that name)."""
    revoked = api_keys.revoke_api_key(redis_client(), id_or_name)
    if not revoked:
        raise click.ClickException(f"no key with id or name {id_or_name!r}")
    click.echo("revoked " + ", ".join(revoked))


def init_app(app) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(keys_cli)
