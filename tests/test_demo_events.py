"""`warehouse demo` writes the web-shop events of the week up to the time it runs, so
that right after it the trailing 4 hours (`warehouse attention`) show articles. Every
other step of the demo is stubbed out here: the whole demo takes minutes. The clock
stops at an evening in South-East Asia: at night there (about 20:00-23:00 UTC) the
shop is quiet, the last event can be half an hour old and the trailing 4 hours hold
only dozens of events, so a real clock would make this test depend on the hour."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import samples.marketplace_files as marketplace_files
from orchestration import jobs


def _occurred(folder: Path) -> list[dt.datetime]:
    return [
        dt.datetime.fromisoformat(json.loads(line)["occurred_at"])
        for path in sorted(folder.glob("events_*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]


def test_the_demo_events_end_when_the_demo_runs(tmp_path: Path, monkeypatch) -> None:
    # not the demo's own DuckDB file, so the demo has nothing to delete
    monkeypatch.setenv("WAREHOUSE_DUCKDB", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setattr(marketplace_files, "write_sample_inbox", lambda inbox: [])
    monkeypatch.setattr(marketplace_files, "write_redeliveries", lambda inbox: [])
    for step in ("ingest_rates", "ingest", "build"):
        monkeypatch.setattr(jobs, step, lambda *args, **kwargs: None)
    landed: list[Path] = []
    monkeypatch.setattr(jobs, "ingest_events", lambda inbox, *args: landed.append(Path(inbox)))

    now = dt.datetime(2026, 12, 2, 12, 7, 30, tzinfo=dt.UTC)  # 19:07 in Jakarta
    monkeypatch.setattr(jobs, "utc_now", lambda: now)
    jobs.demo("duckdb", str(tmp_path / "inbox"))

    occurred = _occurred(landed[0])
    assert max(occurred) <= now, "an event after the demo ran"
    assert max(occurred) > now - dt.timedelta(minutes=15), "the events end before now"
    assert min(occurred) >= now - dt.timedelta(days=7, minutes=1)
    trailing = [t for t in occurred if t >= now - dt.timedelta(hours=4)]
    assert len(trailing) > 100
