"""The disk spool: batches a worker could not write to Redis before it stopped.

A worker stopping while Redis is unreachable (gunicorn's graceful stop, max_requests recycling,
a deploy) writes what it still holds here, under ``INSTANCE_PATH/spool``, instead of losing it;
the next worker, or any worker of the same instance folder (they look every
``SPOOL_SCAN_SECONDS``), claims the files and replays them once Redis answers.

One file per stopping worker, JSON lines, one batch per line::

    {"v": 1, "producer": "3f9c…", "seq": 17, "site": "default", "created": 1764600000.0,
     "events": [[type, network, url, aid, visitor, ts, utm or null, target], ...]}

Each batch keeps the identity it had in memory (its recorder's ``producer`` id and sequence
number ``seq``): record.lua writes a given (producer, seq) at most once, so a batch that was
in fact written before the worker stopped (an unanswered call that Redis ran), or a file
replayed twice, is still counted once.

Privacy: a spooled event holds the day's visitor hash, never an IP address or a user agent
(events still waiting for the day's salt are not spooled: the recorder drops and counts them).

Claiming is a rename (atomic; two workers racing for a file: one wins). The file is deleted once
its batches are written (or re-spooled by a claimant that stops in turn); a claim left by a
process that no longer exists is taken over. Files are written under a temporary name, flushed
and renamed, so a reader never sees half a file. The spool is bounded by
COUNTING_SPOOL_MAX_BYTES: batches past it are dropped (counted, logged).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..storage.embedded import process_alive
from .events import Event

log = logging.getLogger("share_service.counting")

FORMAT = 1
SUFFIX = ".jsonl"
CLAIM = ".claimed-"


@dataclass
class SpooledBatch:
    """One script call's worth of events of one site, with the identity it was first given."""

    producer: str
    seq: int
    site: str
    created: float
    events: list[Event] = field(default_factory=list)


def _encode(batch: SpooledBatch) -> str:
    return json.dumps({
        "v": FORMAT, "producer": batch.producer, "seq": batch.seq, "site": batch.site,
        "created": batch.created,
        "events": [[e.type, e.network, e.url, e.aid, e.visitor, e.ts,
                    list(e.utm) if e.utm else None, e.target] for e in batch.events],
    }, ensure_ascii=False, separators=(",", ":"))


def _decode(line: str) -> SpooledBatch:
    obj = json.loads(line)
    if obj.get("v") != FORMAT:
        raise ValueError(f"unknown spool format {obj.get('v')!r}")
    site = str(obj["site"])
    events = []
    for kind, network, url, aid, visitor, ts, utm, target in obj["events"]:
        if not visitor:
            raise ValueError("a spooled event without a visitor hash")
        events.append(Event(site, str(kind), str(network), str(url), str(aid), str(visitor),
                            float(ts), tuple(utm) if utm else None, str(target)))
    return SpooledBatch(str(obj["producer"]), int(obj["seq"]), site, float(obj["created"]),
                        events)


class Spool:
    """The spool folder of one instance."""

    def __init__(self, directory: str | os.PathLike, max_bytes: int):
        self.directory = Path(directory)
        self.max_bytes = int(max_bytes)

    def size(self) -> int:
        total = 0
        with contextlib.suppress(FileNotFoundError):
            for path in self.directory.iterdir():
                with contextlib.suppress(FileNotFoundError):
                    total += path.stat().st_size
        return total

    def write(self, batches: list[SpooledBatch], producer: str) -> tuple[int, int]:
        """Write ``batches`` to a new file; returns (events spooled, events dropped because the
        spool is full)."""
        if not batches:
            return 0, 0
        self.directory.mkdir(parents=True, exist_ok=True)
        room = self.max_bytes - self.size()
        lines, spooled, dropped = [], 0, 0
        for batch in batches:
            line = _encode(batch) + "\n"
            size = len(line.encode("utf-8"))
            if size > room:
                dropped += len(batch.events)
                continue
            room -= size
            lines.append(line)
            spooled += len(batch.events)
        if lines:
            name = f"{time.time_ns()}-{producer}-{os.getpid()}{SUFFIX}"
            tmp = self.directory / f".{name}.tmp"
            with tmp.open("w", encoding="utf-8") as out:
                out.writelines(lines)
                out.flush()
                os.fsync(out.fileno())
            tmp.chmod(0o600)
            tmp.replace(self.directory / name)
        return spooled, dropped

    def _claimable(self) -> list[Path]:
        try:
            paths = sorted(self.directory.iterdir())
        except FileNotFoundError:
            return []
        found = []
        for path in paths:
            name = path.name
            if name.startswith("."):
                continue
            if name.endswith(SUFFIX):
                found.append(path)
            elif CLAIM in name:
                owner = name.rsplit(CLAIM, 1)[1]
                if owner.isdigit() and int(owner) != os.getpid() and not process_alive(int(owner)):
                    found.append(path)  # its claimant died before finishing: take it over
        return found

    def claim(self) -> list[tuple[Path, list[SpooledBatch], int]]:
        """Claim every file nobody else holds: [(claimed path, batches, unreadable lines)]."""
        claimed = []
        for path in self._claimable():
            base = path.name.rsplit(CLAIM, 1)[0] if CLAIM in path.name else path.name
            target = path.with_name(f"{base}{CLAIM}{os.getpid()}")
            try:
                path.rename(target)
            except FileNotFoundError:
                continue  # another worker was quicker
            batches, bad = [], 0
            for line in target.read_text(encoding="utf-8").splitlines():
                if not line.strip():
                    continue
                try:
                    batches.append(_decode(line))
                except (ValueError, KeyError, TypeError) as exc:
                    bad += 1
                    log.warning("spool %s: unreadable batch skipped: %s", target.name, exc)
            claimed.append((target, batches, bad))
        return claimed

    @staticmethod
    def release(path: Path) -> None:
        """Delete a claimed file: its batches are written, dropped or spooled again."""
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
