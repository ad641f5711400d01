"""One writer per warehouse: every command that writes holds this lock while it runs.

- DuckDB: an OS file lock (`flock`) on `<warehouse file>.lock` beside the DuckDB
  file; the file says who holds it (pid, command, since).
- Spark: the same, on `writer.lock` in the Spark warehouse folder (a local session's
  metastore admits one process anyway; a cluster's writers share that folder's host).
- PostgreSQL: a session advisory lock in the warehouse database, held by a
  connection of its own whose `application_name` says who holds it.

Both are released by the operating system or the server when the process dies,
however it dies, so a killed run never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ingest import settings

from .errors import WarehouseBusy

# pg_try_advisory_lock(bigint) key: the same on every warehouse database (a lock is
# per database); the digits spell nothing, they only need to be this project's own
ADVISORY_LOCK_KEY = 7_142_915_332_018_001
POLL_SECONDS = 0.5


@dataclass(frozen=True)
class Holder:
    pid: int | None
    command: str
    since: str
    host: str | None = None

    def describe(self) -> str:
        where = f" on {self.host}" if self.host else ""
        return f"`{self.command}` (pid {self.pid}{where}, since {self.since})"


def _me(command: str) -> Holder:
    since = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Holder(os.getpid(), f"warehouse {command}", since, socket.gethostname())


@contextlib.contextmanager
def writer_lock(target: str, command: str, wait_seconds: float = 0) -> Iterator[None]:
    """Hold the warehouse's writer lock; raise WarehouseBusy if another run holds it
    for longer than `wait_seconds`."""
    lock = _PostgresLock() if target == "postgres" else _FileLock(_lock_file(target))
    me = _me(command)
    deadline = time.monotonic() + max(wait_seconds, 0)
    while not lock.try_acquire(me):
        if time.monotonic() >= deadline:
            holder = lock.holder()
            who = holder.describe() if holder else "another run"
            waited = f" (waited {wait_seconds:g} s)" if wait_seconds else ""
            raise WarehouseBusy(
                f"the {target} warehouse is being written by {who}{waited}",
                "wait for it to finish, or run again with --wait SECONDS",
            )
        time.sleep(POLL_SECONDS)
    try:
        yield
    finally:
        lock.release()


def _lock_file(target: str) -> Path:
    if target == "spark":
        return settings.spark_dir() / "writer.lock"
    return Path(f"{settings.duckdb_path()}.lock")


class _FileLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = None

    def try_acquire(self, me: Holder) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        json.dump(me.__dict__, handle)
        handle.flush()
        self._file = handle
        return True

    def holder(self) -> Holder | None:
        try:
            return Holder(**json.loads(self.path.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the file releases the flock
            self._file = None


class _PostgresLock:
    def __init__(self) -> None:
        self._connection = None

    def try_acquire(self, me: Holder) -> bool:
        from .postgres import connect

        if self._connection is None:
            # PostgreSQL keeps 63 bytes of it: the host goes last
            label = f"{me.command} pid={me.pid} since={me.since} host={me.host}"
            self._connection = connect(application_name=label[:63])
            self._connection.autocommit = True
        with self._connection.cursor() as cursor:
            cursor.execute("select pg_try_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
            return bool(cursor.fetchone()[0])

    def holder(self) -> Holder | None:
        high, low = divmod(ADVISORY_LOCK_KEY, 1 << 32)
        with self._connection.cursor() as cursor:
            cursor.execute(
                "select activity.application_name, activity.pid, activity.backend_start "
                "from pg_locks as locks "
                "inner join pg_stat_activity as activity on locks.pid = activity.pid "
                "where locks.locktype = 'advisory' and locks.granted "
                "and locks.classid = %s and locks.objid = %s "
                "and locks.database = (select oid from pg_database "
                "where datname = current_database())",
                (high, low),
            )
            row = cursor.fetchone()
        if row is None:
            return None
        application_name, backend_pid, started = row
        command = application_name.split(" pid=")[0] or "a client"
        fields = dict(part.split("=", 1) for part in application_name.split() if "=" in part)
        since = fields.get("since") or f"{started:%Y-%m-%dT%H:%M:%S%z}"
        pid = int(fields["pid"]) if fields.get("pid", "").isdigit() else backend_pid
        return Holder(pid, command, since, fields.get("host"))

    def release(self) -> None:
        if self._connection is not None:
            self._connection.close()  # ends the session, which releases the lock
            self._connection = None
