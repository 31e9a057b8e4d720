"""A sender's local journal: what it claimed, what it is about to submit and what the carrier acknowledged,
appended as it happens, so that a sender killed before its database write is not sent again unflagged.

One append-only text file per sender process in ``GATEWAY_SENDER_JOURNAL_DIR``, held with an exclusive
``flock`` for the life of the process. The kernel drops the lock when the process dies, however it dies, so
any other sender on the host (and the next one to start) can tell a dead sender's journal by taking the
lock, and replays it (``store.journal_replay``) before the dead sender's leases run out:

* ``C id id ...``      claimed (leased) messages;
* ``S id node``        about to be submitted through ``node`` (written before the first byte leaves);
* ``A id node at pk:msg_id:result,...``  the SUBMIT_RESPs of every segment (written as they arrive);
* ``D id id ...``      settled: the outcome is committed in the database, nothing left to replay.

Each line is one ``os.write`` to an ``O_APPEND`` descriptor, so it is in the kernel (and survives SIGKILL)
as soon as the call returns; ``sync()`` (fsync, called by the writer every round, before the database
write) makes it survive a power cut too. The file is rewritten with only the unsettled lines when it grows
past ``rotate_bytes``. No Django here: plain files.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

log = logging.getLogger("gateway.sender")

SUFFIX = ".journal"


@dataclass(frozen=True, slots=True)
class Acked:
    node_id: int
    at: datetime
    segments: tuple[tuple[int, int, int], ...]  # (pk_number, msg_id, result)


@dataclass(slots=True)
class JournalState:
    """What a journal says about its messages (settled ones removed)."""

    owner: str = ""
    claimed: set[int] = field(default_factory=set)
    sending: dict[int, int] = field(default_factory=dict)  # message id -> node id of the last submit begun
    acked: dict[int, Acked] = field(default_factory=dict)  # message id -> the last complete answer

    @property
    def empty(self) -> bool:
        return not (self.claimed or self.sending or self.acked)


def _safe(owner: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", owner)[:100]


def _prefix(scope: str) -> str:
    """Journals are per database (``scope``): a sender never replays one written against another database."""
    return f"{_safe(scope)}--" if scope else ""


class Journal:
    def __init__(
        self, directory: str | os.PathLike[str], owner: str, *, scope: str = "", rotate_bytes: int = 8 * 1024 * 1024
    ) -> None:
        self.directory = Path(directory)
        self.owner = owner
        self.scope = scope
        self.rotate_bytes = rotate_bytes
        self.path = self.directory / f"{_prefix(scope)}{_safe(owner)}{SUFFIX}"
        self._failed = False
        self._fd = -1
        self._size = 0
        self._open_lines: dict[int, list[bytes]] = {}  # unsettled message id -> its lines (for rotation)

    # ---------------------------------------------------------------- life
    def open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._fd = _open_locked(self.path)
        self._size = 0
        self._write(f"O {self.owner}\n".encode())
        os.fsync(self._fd)

    def close(self, *, remove: bool) -> None:
        """Stop journaling; ``remove`` when every message is settled (a clean stop)."""
        if self._fd < 0:
            return
        if remove:
            self.path.unlink(missing_ok=True)
        os.close(self._fd)
        self._fd = -1

    @property
    def unsettled(self) -> int:
        return len(self._open_lines)

    # ---------------------------------------------------------------- appending
    def claimed(self, ids: Iterable[int]) -> None:
        ids = list(ids)
        if not ids or self._fd < 0:
            return
        for message_id in ids:
            self._open_lines[message_id] = [f"C {message_id}\n".encode()]
        self._write(("C " + " ".join(map(str, ids)) + "\n").encode())

    def sending(self, message_id: int, node_id: int) -> None:
        if self._fd < 0:
            return
        line = f"S {message_id} {node_id}\n".encode()
        self._open_lines.setdefault(message_id, []).append(line)
        self._write(line)

    def acked(self, message_id: int, node_id: int, at: datetime, segments: Iterable[Any]) -> None:
        """`segments`: (pk_number, msg_id, result) tuples or objects with those attributes."""
        if self._fd < 0:
            return
        answers = ",".join(f"{pk}:{msg_id}:{result}" for pk, msg_id, result in map(_triple, segments))
        line = f"A {message_id} {node_id} {at.isoformat()} {answers}\n".encode()
        self._open_lines.setdefault(message_id, []).append(line)
        self._write(line)

    def settled(self, ids: Iterable[int]) -> None:
        ids = [i for i in ids if self._open_lines.pop(i, None) is not None]
        if not ids or self._fd < 0:
            return
        self._write(("D " + " ".join(map(str, ids)) + "\n").encode())
        if self._size > self.rotate_bytes:
            self._rotate()

    def sync(self) -> None:
        """fsync: what was written survives a power cut as well (the writer calls it before each DB write)."""
        if self._fd >= 0:
            os.fsync(self._fd)

    def _write(self, data: bytes) -> None:
        try:
            os.write(self._fd, data)
        except OSError as exc:  # a full disk must not stop sending; the leases still protect the messages
            if not self._failed:
                self._failed = True
                log.error("journal %s cannot be written (%s): a crash now may resend unflagged", self.path, exc)
            return
        self._failed = False
        self._size += len(data)

    def _rotate(self) -> None:
        """Write the unsettled lines to a fresh file and put it in place of the old one (rename is atomic)."""
        tmp = self.path.with_name(self.path.name + ".new")
        fd = _open_locked(tmp)
        lines = [line for entries in self._open_lines.values() for line in entries]
        body = b"".join([f"O {self.owner}\n".encode(), *lines])
        os.write(fd, body)
        os.fsync(fd)
        os.rename(tmp, self.path)
        os.close(self._fd)
        self._fd = fd
        self._size = len(body)


def _parse_triple(text: str) -> tuple[int, int, int]:
    """'pk:msg_id:result' as written by `Journal.acked` (ValueError otherwise: the line is skipped)."""
    pk, msg_id, result = (int(v) for v in text.split(":"))
    return pk, msg_id, result


def _triple(segment: Any) -> tuple[int, int, int]:
    if isinstance(segment, tuple):
        return (segment[0], segment[1], segment[2])
    return segment.pk_number, segment.msg_id, segment.result


def _open_locked(path: Path) -> int:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise
    return fd


def read(source: Path | int) -> JournalState:
    """Parse a journal (a path, or a descriptor from ``dead_journals``); a torn last line (the process died
    mid-write) is ignored."""
    state = JournalState()
    path = source
    if isinstance(source, int):
        os.lseek(source, 0, os.SEEK_SET)
        source = os.dup(source)
    with open(source, "rb") as fh:
        for raw in fh:
            if not raw.endswith(b"\n"):
                break
            parts = raw.decode("utf-8", "replace").split()
            if not parts:
                continue
            kind, rest = parts[0], parts[1:]
            try:
                if kind == "O":
                    state.owner = " ".join(rest)
                elif kind == "C":
                    state.claimed.update(int(x) for x in rest)
                elif kind == "S":
                    state.sending[int(rest[0])] = int(rest[1])
                elif kind == "A":
                    segments = tuple(_parse_triple(seg) for seg in rest[3].split(","))
                    state.acked[int(rest[0])] = Acked(int(rest[1]), datetime.fromisoformat(rest[2]), segments)
                elif kind == "D":
                    for message_id in map(int, rest):
                        state.claimed.discard(message_id)
                        state.sending.pop(message_id, None)
                        state.acked.pop(message_id, None)
            except (IndexError, ValueError):
                log.warning("journal %s: unreadable line %r skipped", path, raw[:200])
    return state


def dead_journals(
    directory: str | os.PathLike[str], own: Path | None = None, *, scope: str = ""
) -> Iterator[tuple[Path, int]]:
    """Journals in ``directory`` whose sender is gone: yields (path, fd holding its lock). The caller
    replays it, then calls ``release(path, fd)``. A live sender's journal is locked and skipped."""
    root = Path(directory)
    if not root.is_dir():
        return
    for path in sorted(root.glob(f"{_prefix(scope)}*{SUFFIX}")):
        if not scope and "--" in path.name:
            continue
        if own is not None and path == own:
            continue
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        try:
            same = os.fstat(fd).st_ino == path.stat().st_ino
        except FileNotFoundError:  # replayed and removed by another sender meanwhile
            same = False
        if not same:  # removed, or replaced by its (live) owner's rotation: not ours to replay
            os.close(fd)
            continue
        yield path, fd


def release(path: Path, fd: int, *, remove: bool) -> None:
    if remove:
        path.unlink(missing_ok=True)
    os.close(fd)
