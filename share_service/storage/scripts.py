"""The one loader of Lua scripts: the only code that sends a script to Redis.

Every script is a file ``<package>/lua/<name>.lua`` whose header documents its KEYS and ARGV.
:func:`load` reads it once per process. A call runs ``EVALSHA``; only when the server answers
NOSCRIPT (first use, a restarted or flushed server, another master of a cluster, a promoted
replica) is the source sent, as ``EVAL``, which runs it and caches it on that server. On a
cluster a call is routed by its keys, which must all be in one slot (one shard of one site,
storage/keyspace.py); the script is never loaded on the other masters (one of them being down
must not stop this one).

    RECORD = scripts.load(__file__, "record")      # counting/lua/record.lua
    counted, duplicates, ... = RECORD(client, keys=[...], args=[...])
    results = fanout.run(client, [SUM.call(keys, args), SUM.call(other_keys, args)])
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from redis.client import Pipeline
from redis.exceptions import ClusterDownError, NoScriptError, SlotNotCoveredError

from .fanout import Call


class LuaScript:
    """One script file. ``sha`` and ``script`` are the attributes redis-py's pipelines read to
    load missing scripts before they execute."""

    __slots__ = ("name", "script", "sha")

    def __init__(self, name: str, source: str):
        self.name = name
        self.script = source
        self.sha = hashlib.sha1(source.encode("utf-8")).hexdigest()

    def __call__(self, client, keys=(), args=()):
        """Run on ``client`` (a client, a cluster client, or a one-Redis pipeline where it is
        queued)."""
        if isinstance(client, Pipeline):
            client.scripts.add(self)
            return client.evalsha(self.sha, len(keys), *keys, *args)
        try:
            try:
                return client.evalsha(self.sha, len(keys), *keys, *args)
            except NoScriptError:
                return client.eval(self.script, len(keys), *keys, *args)
        except SlotNotCoveredError as exc:  # not a RedisError: callers catch RedisError
            raise ClusterDownError(str(exc)) from exc

    def call(self, keys, args=(), raw: bool = False) -> Call:
        """This script's call for ``fanout.run`` (``raw``: reply left as bytes)."""
        return Call(("EVALSHA", self.sha, len(keys), *keys, *args), keys[0], self.script, raw)

    def __repr__(self) -> str:
        return f"<LuaScript {self.name} {self.sha[:8]}>"


@cache
def _read(path: Path) -> LuaScript:
    return LuaScript(f"{path.parent.parent.name}/{path.stem}", path.read_text(encoding="utf-8"))


def load(module_file: str, name: str) -> LuaScript:
    """The script ``lua/<name>.lua`` beside the module ``module_file`` (pass ``__file__``)."""
    return _read(Path(module_file).resolve().parent / "lua" / f"{name}.lua")
