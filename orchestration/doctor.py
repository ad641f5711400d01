"""`warehouse doctor`: check what a run needs and say what was found, one line each.

Checks the connection to the warehouse, its schemas, the writer lock, the
inboxes and the local folders; never changes anything.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ingest import settings

from .errors import UserError, explain
from .setup_warehouse import SCHEMAS

OK, PROBLEM = "ok", "problem"


@dataclass(frozen=True)
class Finding:
    status: str  # OK or PROBLEM
    what: str
    detail: str

    def line(self) -> str:
        return f"  [{self.status:>7}] {self.what}: {self.detail}"


def diagnose(target: str, inboxes: list[str]) -> list[Finding]:
    findings = [Finding(OK, "warehouse", settings.describe_warehouse(target))]
    connected = _check(findings, "connection", lambda: _connect_and_list_schemas(target))
    if connected is not None:
        missing = [schema for schema in SCHEMAS if schema not in connected]
        findings.append(
            Finding(OK, "schemas", "all present")
            if not missing
            else Finding(
                OK if len(missing) == len(SCHEMAS) else PROBLEM,
                "schemas",
                f"missing {', '.join(missing)} (`warehouse init` or the first run creates them)",
            )
        )
        _check(findings, "writer lock", lambda: _lock_holder(target))
    findings += [_inbox_finding(inbox) for inbox in inboxes]
    for what, folder in (
        ("dlt state folder", settings.dlt_pipelines_dir()),
        ("dbt log folder", settings.dbt_log_dir()),
    ):
        findings.append(_writable_finding(what, folder))
    return findings


def _check(findings: list[Finding], what: str, probe: Callable):
    """Run a probe; a failure becomes a PROBLEM finding with its one-line explanation."""
    try:
        result, detail = probe()
    except Exception as error:
        explained = explain(error) or UserError(f"{type(error).__name__}: {error}")
        hint = f" ({explained.hint})" if explained.hint else ""
        findings.append(Finding(PROBLEM, what, explained.message + hint))
        return None
    findings.append(Finding(OK, what, detail))
    return result


def _connect_and_list_schemas(target: str) -> tuple[set[str], str]:
    if target == "duckdb":
        import duckdb

        path = settings.duckdb_path()
        if not path.exists():
            return set(), "no DuckDB file yet (the first run creates it)"
        with duckdb.connect(str(path), read_only=True) as connection:
            rows = connection.execute("select schema_name from information_schema.schemata")
            return {name for (name,) in rows.fetchall()}, "opened the DuckDB file"
    from contextlib import closing

    from .postgres import connect

    with (
        closing(connect(application_name="warehouse doctor")) as connection,
        connection.cursor() as cursor,
    ):
        cursor.execute("select schema_name from information_schema.schemata")
        schemas = {name for (name,) in cursor.fetchall()}
        cursor.execute("select current_user, version()")
        user, version = cursor.fetchone()
    return schemas, f"connected as {user} ({version.split(',')[0]})"


def _lock_holder(target: str) -> tuple[None, str]:
    from .errors import WarehouseBusy
    from .lock import writer_lock

    try:
        with writer_lock(target, "doctor"):
            return None, "free (no run is writing the warehouse)"
    except WarehouseBusy as busy:
        return None, f"held: {busy.message}"


def _inbox_finding(inbox: str) -> Finding:
    what = f"inbox {inbox}"
    if "://" in inbox and not inbox.startswith("file://"):
        return Finding(OK, what, "a bucket: listed on each run with dlt's credentials")
    folder = Path(inbox.removeprefix("file://"))
    if not folder.exists():
        return Finding(PROBLEM, what, "does not exist (create it, or pass --inbox PATH)")
    if not folder.is_dir():
        return Finding(PROBLEM, what, "is a file, not a folder")
    if not os.access(folder, os.R_OK | os.W_OK | os.X_OK):
        return Finding(PROBLEM, what, "not readable and writable (quarantine moves files)")
    files, refused = _count_entries(folder)
    detail = f"{files} file(s) waiting or already ingested"
    if refused:
        return Finding(PROBLEM, what, f"{detail}; {refused} link(s) or special file(s) refused")
    return Finding(OK, what, detail)


def _count_entries(folder: Path) -> tuple[int, int]:
    files = refused = 0
    for entry in _entries(folder):
        if entry.is_symlink() or not (entry.is_file() or entry.is_dir()):
            refused += 1
        elif entry.is_file(follow_symlinks=False):
            files += 1
    return files, refused


def _entries(folder: Path) -> Iterator[os.DirEntry]:
    with os.scandir(folder) as entries:
        yield from (entry for entry in entries if not entry.name.startswith("."))


def _writable_finding(what: str, folder: Path) -> Finding:
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if os.access(existing, os.W_OK):
        return Finding(OK, what, f"{folder} (writable)")
    return Finding(PROBLEM, what, f"{folder} is not writable")
