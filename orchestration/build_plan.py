"""What `warehouse run` must build: nothing when no load completed since the last green
build, else what depends on the sources that loaded (dbt's `source:<name>+`), else
everything.

The last green build leaves, beside dbt's artifacts of this warehouse, the loads it
covered (per dlt schema: how many completed, the newest), the warehouse's first load
(a warehouse dropped and made again at the same place is another warehouse, whose
seeds and models do not exist yet) and a fingerprint of what
dbt builds from (the project's files, dbt's version, the environment the profile
reads). A run compares both with now: a killed or failed build leaves the old record,
so the next run builds again; a changed model, macro or grant builds everything.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from ingest import settings
from ingest.pipeline import make_pipeline

from .dbt_build import target_path

RECORD = "last_green_build.json"
# dlt schema (one per ingest) -> the dbt source over its tables
DBT_SOURCE_OF_SCHEMA = {
    "marketplace": "marketplace",
    "web_shop": "web_shop",
    "exchange_rates": "ecb",
}
RATES_SCHEMA = "exchange_rates"
# what dbt builds from, besides the environment (paths under dbt_project/)
PROJECT_INPUTS = ("dbt_project.yml", "models", "macros", "seeds", "snapshots", "tests")


@dataclass
class BuildPlan:
    """Everything (`select` None), part of the project (`select`), or nothing."""

    reason: str
    select: list[str] | None = None
    nothing: bool = False
    last_green: str | None = None  # when the build the record describes ended (UTC)
    # new exchange rates: rows converted in earlier builds are converted again
    full_refresh: bool = False

    @property
    def dbt_args(self) -> list[str]:
        """The build's selection arguments (none: everything)."""
        select = ["--select", *self.select] if self.select else []
        return select + (["--full-refresh"] if self.full_refresh else [])

    def line(self) -> str:
        if self.nothing:
            return f"dbt build: skipped, {self.reason} (last green build {self.last_green} UTC)"
        refresh = " (rebuilt whole: --full-refresh)" if self.full_refresh else ""
        if self.select:
            return f"dbt build of {' '.join(self.select)}{refresh}: {self.reason}"
        return f"dbt build of everything{refresh}: {self.reason}"


@dataclass
class _Record:
    loads: dict[str, list] = field(default_factory=dict)  # schema -> [count, newest]
    fingerprint: str = ""
    finished_at: str = ""
    first_load: str = ""  # the warehouse's oldest load id: which warehouse was built


def plan_build(target: str) -> BuildPlan:
    record = _read_record(target)
    if record is None:
        return BuildPlan("no green build of this warehouse on record")
    if record.fingerprint != fingerprint(target):
        return BuildPlan("the dbt project or its settings changed since the last green build")
    try:
        first, loads = completed_loads(target)
    except Exception:  # noqa: BLE001 - no raw layer to compare: build it all, dbt says why
        return BuildPlan("the raw layer's loads cannot be read")
    if first != record.first_load:
        return BuildPlan("the last green build on record was of another warehouse at this place")
    changed = sorted(
        schema
        for schema in set(loads) | set(record.loads)
        if loads.get(schema) != record.loads.get(schema)
    )
    if not changed:
        return BuildPlan("no load completed since", nothing=True, last_green=record.finished_at)
    # incremental models convert a row to USD once, in the build that stages it: new
    # rates (a day quoted late, a corrected file) reach the rows of earlier builds
    # only when what depends on the rates is rebuilt whole
    new_rates = RATES_SCHEMA in changed
    if any(schema not in DBT_SOURCE_OF_SCHEMA or schema not in loads for schema in changed):
        return BuildPlan(
            f"loads of {', '.join(changed)} changed in a way only a full build covers",
            full_refresh=new_rates,
        )
    sources = [DBT_SOURCE_OF_SCHEMA[schema] for schema in changed]
    return BuildPlan(
        f"new loads of {', '.join(sources)} only",
        select=[f"source:{source}+" for source in sources],
        full_refresh=new_rates,
    )


def record_green_build(target: str, finished_at: str) -> None:
    """After a green build: the loads it covered (taken now, under the writer lock, so
    nothing landed since it started) and what it was built from."""
    first, loads = completed_loads(target)
    record = {
        "loads": loads,
        "fingerprint": fingerprint(target),
        "finished_at": finished_at,
        "first_load": first,
    }
    path = target_path(target) / RECORD
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(record, indent=2), encoding="utf-8")
    os.replace(temporary, path)


def forget_green_build(target: str) -> None:
    """A build that was not green (or a full refresh) leaves nothing to trust."""
    (target_path(target) / RECORD).unlink(missing_ok=True)


def completed_loads(target: str) -> tuple[str, dict[str, list]]:
    """The id of the oldest load this warehouse ever took (which warehouse this is) and,
    per dlt schema, how many loads completed and the newest one's time."""
    with make_pipeline(target).sql_client() as client:
        first = client.execute_sql("select min(load_id) from raw._dlt_loads")
        rows = client.execute_sql(
            "select schema_name, count(*), max(inserted_at) from raw._dlt_loads "
            "where status = 0 group by schema_name"
        )
    loads = {str(schema): [int(count), str(newest)] for schema, count, newest in rows or []}
    return str(first[0][0]) if first and first[0][0] is not None else "", loads


def fingerprint(target: str) -> str:
    """A digest of every file dbt builds from, dbt's version and the environment the
    profile reads (but the password)."""
    # the installed distribution's version: importing dbt would cost a no-op run ~1 s
    digest = hashlib.sha256(metadata.version("dbt-core").encode())
    for name, value in sorted(settings.dbt_environment(target).items()):
        if "SECRET" not in name:  # a new password changes no table
            digest.update(f"{name}={value}\n".encode())
    for path in _project_files():
        digest.update(str(path.relative_to(settings.DBT_PROJECT_DIR)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _project_files() -> list[Path]:
    files = []
    for name in PROJECT_INPUTS:
        root = settings.DBT_PROJECT_DIR / name
        files += [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    return files


def _read_record(target: str) -> _Record | None:
    try:
        data = json.loads((target_path(target) / RECORD).read_text(encoding="utf-8"))
        return _Record(
            data["loads"], data["fingerprint"], data["finished_at"], data.get("first_load", "")
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
