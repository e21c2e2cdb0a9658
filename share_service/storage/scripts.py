"""The one loader of Lua scripts: the only code that sends a script to Redis.

Every script is a file ``<package>/lua/<name>.lua`` whose header documents its KEYS and ARGV.
:func:`load` reads it once per process; a call runs ``EVALSHA`` and, only when the server
answers NOSCRIPT (first use, a restarted or flushed server, another node of a cluster), loads
the source with ``SCRIPT LOAD`` and runs it again. Queued in a pipeline, the pipeline loads any
missing script before it runs.

    RECORD = scripts.load(__file__, "record")      # counting/lua/record.lua
    counted, duplicates, ... = RECORD(client, keys=[...], args=[...])
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from redis.client import Pipeline
from redis.exceptions import NoScriptError


class LuaScript:
    """One script file. ``sha`` and ``script`` are the attributes redis-py's pipelines read to
    load missing scripts before they execute."""

    __slots__ = ("name", "script", "sha")

    def __init__(self, name: str, source: str):
        self.name = name
        self.script = source
        self.sha = hashlib.sha1(source.encode("utf-8")).hexdigest()

    def __call__(self, client, keys=(), args=()):
        """Run on ``client`` (a client or a pipeline, where it is queued)."""
        if isinstance(client, Pipeline):
            client.scripts.add(self)
            return client.evalsha(self.sha, len(keys), *keys, *args)
        try:
            return client.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            client.script_load(self.script)
            return client.evalsha(self.sha, len(keys), *keys, *args)

    def __repr__(self) -> str:
        return f"<LuaScript {self.name} {self.sha[:8]}>"


@cache
def _read(path: Path) -> LuaScript:
    return LuaScript(f"{path.parent.parent.name}/{path.stem}", path.read_text(encoding="utf-8"))


def load(module_file: str, name: str) -> LuaScript:
    """The script ``lua/<name>.lua`` beside the module ``module_file`` (pass ``__file__``)."""
    return _read(Path(module_file).resolve().parent / "lua" / f"{name}.lua")
