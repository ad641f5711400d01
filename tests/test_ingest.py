"""The dlt ingest against a real destination: lineage, manifest, idempotency, quarantine."""

import os
import tempfile
from pathlib import Path

from conftest import query

from ingest.files import IngestedFiles, list_inbox, prepare_deliveries
from ingest.marketplace import marketplace_source
from ingest.pipeline import (
    MARKETPLACE,
    ingest_marketplace_files,
    make_pipeline,
    normalize_inbox,
    staged_format_for,
)

HEADER = "report_date,seller_id,sku_id,units_sold,gmv"


def make_inbox(tmp_path: Path) -> Path:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "GDN_SG_2026-11-01.csv").write_text(
        f"{HEADER}\n2026-11-01,S1,K1,1,10\n2026-11-01,S1,K2,2,20\n"
    )
    (inbox / "SEV_TH_2026-11-01.csv").write_text(f"{HEADER}\n2026-11-01,S9,K9,5,50\n")
    (inbox / "notes.txt").write_text("not a delivery")
    (inbox / "GDN_PH_no-gmv.csv").write_text("report_date,seller_id,sku_id,units_sold\nx,y,z,1\n")
    return inbox


def test_ingest_lands_rows_with_lineage_and_a_manifest(warehouse, tmp_path):
    inbox = make_inbox(tmp_path)
    report = ingest_marketplace_files(str(inbox), warehouse, quiet=True)

    assert (report.files_loaded, report.rows_landed, report.files_skipped) == (2, 3, 0)
    assert sorted(name for name, _ in report.rejected) == ["GDN_PH_no-gmv.csv", "notes.txt"]
    rows = query(
        warehouse,
        "select _source_file_name, _source_row_number, sku_id, gmv, _source_file_hash "
        "from raw.marketplace_sales_rows order by 1, 2",
    )
    assert [row[:4] for row in rows] == [
        ("GDN_SG_2026-11-01.csv", 2, "K1", "10"),
        ("GDN_SG_2026-11-01.csv", 3, "K2", "20"),
        ("SEV_TH_2026-11-01.csv", 2, "K9", "50"),
    ]
    assert all(len(row[4]) == 64 for row in rows)
    manifest = query(
        warehouse,
        "select file_name, status, marketplace_code, country_code, row_count, size_bytes, "
        "reason, _dlt_load_id from raw.marketplace_files order by file_name",
    )
    by_name = {row[0]: row for row in manifest}
    assert by_name["GDN_SG_2026-11-01.csv"][1:5] == ("loaded", "GDN", "SG", 2)
    assert by_name["GDN_SG_2026-11-01.csv"][5] == (inbox / "GDN_SG_2026-11-01.csv").stat().st_size
    assert by_name["notes.txt"][1] == "rejected"
    assert "missing required column(s): gmv" in by_name["GDN_PH_no-gmv.csv"][6]
    assert len({row[7] for row in manifest}) == 1  # one run, one load id


def test_rejected_files_move_to_quarantine_with_a_reason_file(duckdb_warehouse, tmp_path):
    inbox = make_inbox(tmp_path)
    ingest_marketplace_files(str(inbox), "duckdb", quiet=True)

    quarantine = inbox / "_quarantine"
    assert sorted(p.name for p in inbox.iterdir() if p.is_file()) == [
        "GDN_SG_2026-11-01.csv",
        "SEV_TH_2026-11-01.csv",
    ]
    assert (quarantine / "notes.txt").read_text() == "not a delivery"
    assert "does not match" in (quarantine / "notes.txt.reason").read_text()
    assert "gmv" in (quarantine / "GDN_PH_no-gmv.csv.reason").read_text()


def test_reingesting_the_same_bytes_lands_nothing_but_a_changed_file_is_new(warehouse, tmp_path):
    inbox = make_inbox(tmp_path)
    ingest_marketplace_files(str(inbox), warehouse, quiet=True)

    again = ingest_marketplace_files(str(inbox), warehouse, quiet=True)
    assert (again.files_loaded, again.rows_landed, again.files_skipped) == (0, 0, 2)
    assert query(warehouse, "select count(*) from raw.marketplace_sales_rows") == [(3,)]

    (inbox / "GDN_SG_2026-11-01.csv").write_text(f"{HEADER}\n2026-11-01,S1,K1,7,70\n")
    os.utime(inbox / "GDN_SG_2026-11-01.csv", (2_000_000_000, 2_000_000_000))
    changed = ingest_marketplace_files(str(inbox), warehouse, quiet=True)
    assert (changed.files_loaded, changed.rows_landed, changed.files_skipped) == (1, 1, 1)
    assert query(warehouse, "select count(*) from raw.marketplace_sales_rows") == [(4,)]
    statuses = query(
        warehouse, "select status, count(*) from raw.marketplace_files group by 1 order by 1"
    )
    # files left unchanged in the inbox are counted as skipped, not listed again
    assert statuses == [("loaded", 3), ("rejected", 2)]


def test_identical_bytes_under_two_names_in_one_batch_land_once(duckdb_warehouse, tmp_path):
    inbox = make_inbox(tmp_path)
    copy = inbox / "GDN_SG_2026-11-01_copy.csv"
    copy.write_bytes((inbox / "GDN_SG_2026-11-01.csv").read_bytes())
    os.utime(copy, (2_000_000_000, 2_000_000_000))  # processed after the original
    report = ingest_marketplace_files(str(inbox), "duckdb", quiet=True)
    assert (report.files_loaded, report.files_skipped) == (2, 1)
    assert query("duckdb", "select count(*) from raw.marketplace_sales_rows") == [(3,)]


def test_a_run_killed_before_its_load_is_finished_by_the_next_run(warehouse, tmp_path):
    inbox = make_inbox(tmp_path)
    pipeline = make_pipeline(warehouse)
    with tempfile.TemporaryDirectory() as workdir:
        staging = MARKETPLACE.staging_area(Path(workdir), warehouse)
        deliveries = prepare_deliveries(
            list_inbox(normalize_inbox(str(inbox))), IngestedFiles(), staging, MARKETPLACE.convert
        )
        pipeline.extract(marketplace_source(deliveries, staging))
        pipeline.normalize()
    # the process dies here: a normalized package waits, nothing is in raw yet

    report = ingest_marketplace_files(str(inbox), warehouse, quiet=True)
    assert (report.files_loaded, report.files_skipped) == (0, 2)
    assert query(warehouse, "select count(*) from raw.marketplace_sales_rows") == [(3,)]
    again = ingest_marketplace_files(str(inbox), warehouse, quiet=True)
    assert (again.files_loaded, again.rows_landed) == (0, 0)
    assert query(warehouse, "select count(*) from raw.marketplace_sales_rows") == [(3,)]


def test_a_bucket_inbox_is_read_and_quarantined_through_fsspec(duckdb_warehouse, tmp_path):
    # memory:// goes through the same fsspec code path as s3://, gs:// and az://
    import uuid

    import fsspec

    bucket = fsspec.filesystem("memory")
    root = f"/inbox-{uuid.uuid4().hex}"
    bucket.pipe(f"{root}/GDN_SG_2026-11-01.csv", f"{HEADER}\n2026-11-01,S1,K1,1,10\n".encode())
    bucket.pipe(f"{root}/notes.txt", b"not a delivery")

    report = ingest_marketplace_files(f"memory://{root}", "duckdb", quiet=True)

    assert (report.files_loaded, report.rows_landed) == (1, 1)
    assert [name for name, _ in report.rejected] == ["notes.txt"]
    assert bucket.exists(f"{root}/_quarantine/notes.txt")
    assert b"does not match" in bucket.cat(f"{root}/_quarantine/notes.txt.reason")
    assert query("duckdb", "select sku_id from raw.marketplace_sales_rows") == [("K1",)]


def test_a_file_staged_in_several_parts_lands_every_row_once(warehouse, tmp_path, monkeypatch):
    import ingest.files
    import ingest.readers

    monkeypatch.setattr(ingest.files, "SHARED_DELIVERY_BYTES", 100)  # parts of its own
    monkeypatch.setitem(ingest.files.PART_ROWS, staged_format_for(warehouse), 2)
    monkeypatch.setattr(ingest.readers, "CSV_BLOCK_SIZE", 64)  # many small batches
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    lines = [HEADER] + [f"2026-11-01,S1,K{i},1,10" for i in range(25)]
    (inbox / "GDN_SG_2026-11-01.csv").write_text("\n".join(lines) + "\n")

    report = ingest_marketplace_files(str(inbox), warehouse, quiet=True)

    assert report.rows_landed == 25
    rows = query(warehouse, "select _source_row_number from raw.marketplace_sales_rows")
    assert sorted(number for (number,) in rows) == list(range(2, 27))


def test_unchanged_files_are_not_read_again_and_changed_ones_are(warehouse, tmp_path, monkeypatch):
    from ingest import files

    inbox = make_inbox(tmp_path)
    ingest_marketplace_files(str(inbox), warehouse, quiet=True)
    hashed: list[Path] = []
    original = files.sha256_of
    monkeypatch.setattr(files, "sha256_of", lambda path: hashed.append(path) or original(path))

    manifest_rows = query(warehouse, "select count(*) from raw.marketplace_files")
    again = ingest_marketplace_files(str(inbox), warehouse, quiet=True)
    assert (again.files_loaded, again.files_skipped, hashed) == (0, 2, [])
    # nothing new: no load package, and the manifest does not grow with every run
    assert again.load_id is None
    assert query(warehouse, "select count(*) from raw.marketplace_files") == manifest_rows

    corrected = inbox / "GDN_SG_2026-11-01.csv"  # re-delivered under the same name
    corrected.write_text(f"{HEADER}\n2026-11-01,S1,K1,7,70\n")
    os.utime(corrected, (2_000_000_000, 2_000_000_000))
    third = ingest_marketplace_files(str(inbox), warehouse, quiet=True)
    assert (third.files_loaded, third.rows_landed, third.files_skipped) == (1, 1, 1)
    assert [path.name for path in hashed] == [corrected.name]
    assert query(warehouse, "select count(*) from raw.marketplace_sales_rows") == [(4,)]
