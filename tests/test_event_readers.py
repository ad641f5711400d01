import gzip
import json
import random

import pyarrow as pa
import pytest

from ingest import event_readers
from ingest.contract import RejectedFile
from ingest.event_readers import check_event_file_name, read_event_file


def event(event_id: str, **fields) -> str:
    document = {
        "event_id": event_id,
        "event_type": "DETAILS_VIEW",
        "occurred_at": "2026-11-01T10:00:00+08:00",
        "customer_id": "C1",
        "session_id": "S1",
        "article_id": "GDN-1",
    }
    document.update(fields)
    return json.dumps(document)


def read(path, compressed: bool = False) -> list[dict]:
    batches = list(read_event_file(path, path.name, "hash1", compressed))
    return pa.Table.from_batches(batches, schema=event_readers.RAW_EVENT_SCHEMA).to_pylist()


def test_lines_land_as_delivered_with_envelope_and_line_numbers(tmp_path):
    lines = [event("e1"), "", event("e2", country_code="SG", extra={"nested": [1, 2]}), "  "]
    path = tmp_path / "events.jsonl"
    path.write_text("\r\n".join(lines) + "\r\n")
    rows = read(path)
    assert [(r["event_id"], r["_source_line_number"]) for r in rows] == [("e1", 1), ("e2", 3)]
    assert rows[1]["payload"] == lines[2]  # unchanged, extra fields included
    assert rows[1]["country_code"] == "SG"
    assert rows[0]["country_code"] is None
    assert all(r["_parse_error"] is None for r in rows)
    assert {r["_source_file_hash"] for r in rows} == {"hash1"}


@pytest.mark.parametrize("block_size", [1 << 20, 64])
def test_bad_lines_are_kept_with_a_reason_and_do_not_block_the_others(
    tmp_path, monkeypatch, block_size
):
    # a small block size puts the bad lines after several good blocks, so the
    # exact reader must resume where the fast one stopped
    monkeypatch.setattr(event_readers, "LINE_BLOCK_SIZE", block_size)
    lines = [event(f"e{i}") for i in range(20)]
    lines[12] = "not json"
    lines[14] = "[1, 2]"
    lines[16] = event("e16", customer_id=42)  # not a string: kept as its JSON text
    lines[18] = event("e18", article_id="nul\u0000byte")
    lines[17] = '{"event_id": "e17", "amount": NaN}'  # Python's json takes NaN; JSON does not
    lines[19] = event("e19", article_id="\ud800")  # a lone surrogate: jsonb refuses it
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    rows = read(path)
    assert [r["_source_line_number"] for r in rows] == list(range(1, 21))
    errors = {r["_source_line_number"]: r["_parse_error"] for r in rows if r["_parse_error"]}
    assert set(errors) == {13, 15, 18, 19, 20}
    assert errors[13].startswith("not valid JSON")
    assert errors[15] == "not a JSON object"
    assert "PostgreSQL" in errors[19]
    assert errors[18].startswith("not valid JSON")
    assert "surrogate" in errors[20]
    assert rows[16]["customer_id"] == "42"
    assert rows[12]["payload"] == "not json"


def test_a_line_that_is_not_utf8_is_kept_and_the_rest_still_loads(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes(
        (event("e1") + "\n").encode() + b'{"event_id": "caf\xe9"}\n' + (event("e3") + "\n").encode()
    )
    rows = read(path)
    assert [r["event_id"] for r in rows] == ["e1", None, "e3"]
    assert rows[1]["_parse_error"].startswith("not valid UTF-8")
    assert [r["_source_line_number"] for r in rows] == [1, 2, 3]


def test_gzip_files_are_read(tmp_path):
    path = tmp_path / "events.jsonl.gz"
    path.write_bytes(gzip.compress((event("e1") + "\n" + event("e2") + "\n").encode()))
    assert [r["event_id"] for r in read(path, compressed=True)] == ["e1", "e2"]


def test_a_gz_that_is_not_gzip_is_rejected(tmp_path):
    path = tmp_path / "events.jsonl.gz"
    path.write_text(event("e1"))
    with pytest.raises(RejectedFile, match="unreadable"):
        read(path, compressed=True)


def test_an_empty_event_file_is_rejected(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text("\n\n")
    with pytest.raises(RejectedFile, match="empty file"):
        read(path)


@pytest.mark.parametrize(
    ("name", "compressed"), [("events_2026-11-01T00.jsonl", False), ("a.JSONL.GZ", True)]
)
def test_event_file_names(name, compressed):
    assert check_event_file_name(name) is compressed


@pytest.mark.parametrize("name", ["events.json", "events.csv", "events.jsonl.zip", "a b.jsonl"])
def test_other_file_names_are_rejected(name):
    with pytest.raises(RejectedFile, match="not an event file"):
        check_event_file_name(name)


@pytest.mark.parametrize("block_size", [1 << 20, 64])
def test_deeply_nested_lines_are_kept_with_a_reason_and_never_parsed(
    tmp_path, monkeypatch, block_size
):
    monkeypatch.setattr(event_readers, "LINE_BLOCK_SIZE", block_size)
    depth = event_readers.MAX_JSON_DEPTH
    lines = [
        event("e1"),
        '{"a":' * 100_000 + "1" + "}" * 100_000,  # PostgreSQL: stack depth limit exceeded
        "[" * 100_000,  # deep and malformed: Python's json would raise RecursionError
        "not json",
        event("e5", extra="[" * 500, items=[{"n": i} for i in range(200)]),  # many, not deep
        event("e6", deep=json.loads("[" * (depth - 1) + "]" * (depth - 1))),  # at the limit
        event("e7", deep=json.loads("[" * depth + "]" * depth)),  # the event object is one more
        event("e8", amount=json.loads("1e5")) + ', "big": 1e99999}',
    ]
    lines[-1] = lines[-1].replace("}, ", ", ", 1)
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    rows = read(path)
    assert [r["_source_line_number"] for r in rows] == list(range(1, 9))
    errors = {r["_source_line_number"]: r["_parse_error"] for r in rows}
    assert errors[2] == errors[3] == errors[7] == f"nested deeper than {depth} levels"
    assert errors[4].startswith("not valid JSON")
    assert errors[1] is errors[5] is errors[6] is None
    assert "PostgreSQL" in errors[8]
    assert rows[4]["event_id"] == "e5"


@pytest.mark.parametrize("block_size", [1 << 20, 256])
def test_a_truncated_gzip_keeps_its_complete_lines_and_says_the_rest_is_lost(
    tmp_path, monkeypatch, block_size
):
    monkeypatch.setattr(event_readers, "LINE_BLOCK_SIZE", block_size)
    # incompressible ids, so that cutting the stream in half cuts the lines in half
    lines = [event(f"e{i}-{random.Random(i).getrandbits(64):x}") for i in range(400)]
    whole = gzip.compress(("\n".join(lines) + "\n").encode())
    path = tmp_path / "events.jsonl.gz"
    path.write_bytes(whole[: len(whole) // 2])
    rows = read(path, compressed=True)
    *landed, marker = rows
    assert 0 < len(landed) < 400
    assert [r["event_id"] for r in landed] == [json.loads(line)["event_id"] for line in lines][
        : len(landed)
    ]
    assert all(r["_parse_error"] is None for r in landed)
    assert marker["_source_line_number"] == len(landed) + 1
    assert marker["_parse_error"] == (
        f"file is truncated: the gzip stream ends early after line {len(landed)}; "
        "re-deliver the file"
    )
    assert marker["payload"] is None


def test_a_gzip_truncated_before_its_first_line_is_rejected(tmp_path):
    path = tmp_path / "events.jsonl.gz"
    path.write_bytes(gzip.compress((event("e1") + "\n").encode())[:20])
    with pytest.raises(RejectedFile, match="unreadable"):
        read(path, compressed=True)


def test_a_line_that_is_json_null_is_kept_with_a_reason(tmp_path):
    # pyarrow's JSON reader crashes the process on it, so it must never get there
    path = tmp_path / "events.jsonl"
    path.write_text(event("e1") + "\nnull\n  null\n")
    rows = read(path)
    assert [r["_parse_error"] for r in rows] == [None, "not a JSON object", "not a JSON object"]
