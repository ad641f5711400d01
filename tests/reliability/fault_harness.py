"""Helpers of the fault suite: throw-away warehouses driven through the CLI in
subprocesses (so a run can be killed, paused or cut off), the shared small input,
and a snapshot of everything a clean run and a recovered run must agree on."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import WAREHOUSES, _pg_connect, comparable_rows, query

from samples.events import EventConfig, write_events
from samples.marketplace_files import write_sample_inbox

WORKTREE = Path(__file__).resolve().parents[2]
EXIT_KILLED = -signal.SIGKILL
# differ between two warehouses by nature: dlt load ids (load times) and when a file
# was seen; every load id is checked to be a completed load instead
LOAD_COLUMNS = ("last_load_id", "load_id", "source_load_id", "seen_at")
STAGING_KEYS = {
    "intermediate.int_sales_rows_landed": "file_hash, source_row_number",
    "intermediate.int_shop_events_landed": "file_hash, source_line_number",
}
RAW_PER_FILE = {
    "raw.marketplace_sales_rows": "_source_file_name, _source_file_hash",
    "raw.shop_events": "_source_file_name, _source_file_hash",
}
# `dbt build --select` of the marketplace side alone (its staging, intermediate models,
# seeds, sku_sales and the quality marts, with every data test of those: about a third
# of a whole build), for tests that deliver and read marketplace files only; the fault
# scenarios compare whole warehouses and always build everything
MARKETPLACE_SIDE = (
    "--select",
    "+sku_sales",
    "+marketplace_rejected_rows",
    "+marketplace_file_deliveries",
    "--indirect-selection",  # not the tests that also read a model left out
    "cautious",
)
SCRUBBED = ("WAREHOUSE_FAULT_INJECT", "WAREHOUSE_DEBUG", "WAREHOUSE_INBOX", "WAREHOUSE_EVENTS")


@dataclass
class Warehouse:
    """One test warehouse: its target, folder, inboxes and the environment of its runs."""

    target: str
    folder: Path
    env: dict[str, str]
    inbox: Path = field(init=False)
    events: Path = field(init=False)

    def __post_init__(self) -> None:
        self.inbox, self.events = self.folder / "inbox", self.folder / "events"
        self.inbox.mkdir(parents=True, exist_ok=True)
        self.events.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------ runs

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "orchestration.cli", *args, "--target", self.target]

    def run_args(self, command: str = "run") -> list[str]:
        args = [command, "--inbox", str(self.inbox), "--events", str(self.events)]
        return args + (["--quiet"] if command == "run" else [])

    def environment(self, fault: str | None = None, **extra: str) -> dict[str, str]:
        env = dict(self.env) | extra
        if fault:
            env["WAREHOUSE_FAULT_INJECT"] = fault
        return env

    def cli(
        self, *args: str, fault: str | None = None, timeout: float = 600, **extra: str
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.command(*(args or self.run_args())),
            cwd=WORKTREE,
            env=self.environment(fault, **extra),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(
        self, *args: str, fault: str | None = None, output: Path | None = None, **extra: str
    ) -> subprocess.Popen:
        """A run in the background: its stdout and stderr piped, or both written to
        `output` (for a run nobody reads while it runs)."""
        with contextlib.ExitStack() as stack:
            log = stack.enter_context(output.open("w")) if output else subprocess.PIPE
            return subprocess.Popen(
                self.command(*(args or self.run_args())),
                cwd=WORKTREE,
                env=self.environment(fault, **extra),
                stdout=log,
                stderr=subprocess.STDOUT if output else subprocess.PIPE,
                text=True,
            )

    # ------------------------------------------------------------------ reading

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """os.environ pointing at this warehouse, for conftest's `query`."""
        with pytest.MonkeyPatch.context() as patch:
            for name in ("WAREHOUSE_DUCKDB", "PGDATABASE"):
                if name in self.env:
                    patch.setenv(name, self.env[name])
            yield

    def query(self, statement: str) -> list[tuple]:
        with self.active():
            return query(self.target, statement)

    def lock_holder_pid(self) -> int | None:
        """Pid of the run holding the writer lock, read the way an operator would."""
        if self.target == "duckdb":
            import json

            lock = Path(f"{self.env['WAREHOUSE_DUCKDB']}.lock")
            try:
                holder = json.loads(lock.read_text())
            except (OSError, ValueError):
                return None
            return holder.get("pid") if _flock_held(lock) else None
        rows = self.query(
            "select activity.application_name from pg_locks as locks "
            "inner join pg_stat_activity as activity on locks.pid = activity.pid "
            "where locks.locktype = 'advisory' and locks.granted "
            "and activity.datname = current_database()"
        )
        for (name,) in rows:
            for part in name.split():
                if part.startswith("pid=") and part[4:].isdigit():
                    return int(part[4:])
        return None

    def snapshot(self) -> dict[str, object]:
        """What two warehouses fed the same input must agree on, row for row."""
        with self.active():
            return _snapshot(self.target, self.inbox)


def _flock_held(path: Path) -> bool:
    import fcntl

    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def _columns(target: str, schema: str, table: str) -> list[str]:
    return [
        column
        for (column,) in query(
            target,
            "select column_name from information_schema.columns "  # noqa: S608
            f"where table_schema = '{schema}' and table_name = '{table}' "
            "order by ordinal_position",
        )
        if column not in ("staged_at", "last_staged_at")
    ]


def _snapshot(target: str, inbox: Path) -> dict[str, object]:
    snapshot: dict[str, object] = {}
    marts = query(
        target,
        "select table_name from information_schema.tables "
        "where table_schema = 'marts' and table_type = 'BASE TABLE' order by table_name",
    )
    assert len(marts) >= 15, marts  # every mart, not a half-built schema
    inbox_url = inbox.resolve().as_uri() + "/"
    completed = {load_id for (load_id,) in query(target, _COMPLETED_LOADS)}
    for (name,) in marts:
        columns = _columns(target, "marts", name)
        keep = [i for i, column in enumerate(columns) if column not in LOAD_COLUMNS]
        for i, column in enumerate(columns):
            if column in LOAD_COLUMNS and column != "seen_at":
                loads = {row[i] for row in comparable_rows(target, f"marts.{name}", "1")}
                assert loads <= completed | {None}, f"marts.{name}.{column}: not a completed load"
        rows = []
        for row in comparable_rows(target, f"marts.{name}", "1"):
            values = tuple(row[i] for i in keep)
            rows.append(
                tuple(v.removeprefix(inbox_url) if isinstance(v, str) else v for v in values)
            )
        snapshot[f"marts.{name}"] = sorted(rows, key=repr)
    for table, key in STAGING_KEYS.items():
        total, distinct = query(
            target,
            f"select count(*), count(distinct ({key})) from {table}",  # noqa: S608
        )[0]
        assert total == distinct, f"{table}: {total - distinct} rows staged twice"
        snapshot[table] = total
    for table, key in RAW_PER_FILE.items():
        snapshot[table] = sorted(
            query(target, f"select {key}, count(*) from {table} group by {key}")  # noqa: S608
        )
    return snapshot


_COMPLETED_LOADS = "select load_id from raw._dlt_loads where status = 0"


def assert_same(actual: dict[str, object], clean: dict[str, object]) -> None:
    """Table by table, so a failure names the table that differs."""
    assert sorted(actual) == sorted(clean)
    for table in clean:
        got, want = actual[table], clean[table]
        if got != want and isinstance(want, list):
            extra = [row for row in got if row not in want][:5]
            missing = [row for row in want if row not in got][:5]
            pytest.fail(
                f"{table}: {len(got)} rows, clean run {len(want)}; "
                f"not in the clean run: {extra}; missing: {missing}"
            )
        assert got == want, table


@contextlib.contextmanager
def new_warehouse(target: str, folder: Path) -> Iterator[Warehouse]:
    """A fresh warehouse (DuckDB file or PostgreSQL database created and dropped)."""
    folder.mkdir(parents=True, exist_ok=True)
    with WAREHOUSES[target](folder):
        env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
        env["PYTHONUNBUFFERED"] = "1"
        if target == "postgres":
            env.pop("WAREHOUSE_DUCKDB", None)
        else:
            env.pop("PGDATABASE", None)
        yield Warehouse(target, folder, env)


def copy_files(paths: list[Path], folder: Path) -> None:
    """Copy deliveries keeping their modification times (they are part of a delivery)."""
    for path in paths:
        shutil.copy2(path, folder / path.name)


def other_backends(database: str) -> list[tuple[int, str, str]]:
    """(pid, application_name, query) of connections to `database` but this test's own
    and the writer lock's (its application_name starts with `warehouse `)."""
    with _pg_connect() as connection, connection.cursor() as cursor:
        cursor.execute(
            "select pid, application_name, query from pg_stat_activity "
            "where datname = %s and pid <> pg_backend_pid() "
            "and application_name not like 'warehouse %%'",
            (database,),
        )
        rows = cursor.fetchall()
    connection.close()
    return rows


def terminate(pids: list[int]) -> None:
    with _pg_connect() as connection, connection.cursor() as cursor:
        for pid in pids:
            cursor.execute("select pg_terminate_backend(%s)", (pid,))
    connection.close()


def wait_for(condition, timeout: float, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


# ~1,700 event lines over two days: 10 % delivered twice, 5 % up to 30 hours late
EVENTS = EventConfig(
    customers=200, days=2, duplicate_rate=0.10, late_rate=0.05, max_late_hours=30.0
)


@dataclass(frozen=True)
class Input:
    marketplace: list[Path]  # in write order: good files, bad files, a byte-identical copy
    events: list[Path]  # in delivery (name) order

    def batches(self) -> list[tuple[list[Path], list[Path]]]:
        """Four (marketplace files, event files) batches: good marketplace files in the
        first and third, the bad ones (and only they) in the last; events in quarters."""
        good, bad, copy = self.marketplace[:6], self.marketplace[6:-1], self.marketplace[-1:]
        quarter = -(-len(self.events) // 4)
        events = [self.events[i : i + quarter] for i in range(0, len(self.events), quarter)]
        marketplace = [good[:3], [], good[3:] + copy, bad]
        return list(zip(marketplace, events, strict=True))


def write_small_input(folder: Path) -> Input:
    """A few marketplace files (good, bad, a copy) and ~1,700 events, deterministic."""
    marketplace = write_sample_inbox(folder / "inbox", rows_per_file=40, report_dates=2)
    events = write_events(EVENTS, folder / "events", progress=False)
    assert len(marketplace) == 15 and marketplace[-1].name.endswith("_copy.csv")
    return Input(marketplace, events)
