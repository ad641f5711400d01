"""Refuse xlsx workbooks whose size would exhaust memory, before calamine opens them.

calamine (the xlsx reader) loads a sheet as one dense grid spanning its used
range: a 2 KB file with one cell at A1 and one at XFD1048576 asks for 17 billion
cells (~550 GB) and aborts the whole process, which no `except` can catch. It
also holds every part it reads (shared strings, the sheet) in memory whole. So
each xlsx is first streamed through Python's zipfile (bounded memory, CRC
checked) and rejected with a reason when it exceeds these limits:

- `MAX_XLSX_ROWS` = 1,048,576 and `MAX_XLSX_COLUMNS` = 16,384: Excel's own sheet
  limits; a reference beyond them is not a real spreadsheet.
- `MAX_XLSX_CELLS` = 20,000,000 cells in the used range (rows x columns counted
  from A1): calamine keeps 32 bytes a cell, so ~640 MB at most; a full Excel
  sheet of 1,048,576 rows still has room for 19 columns.
- `MAX_XLSX_PART_BYTES` = 1 GiB uncompressed for any part of the zip and
  `MAX_XLSX_UNCOMPRESSED_BYTES` = 2 GiB for all parts together, as declared and
  verified while streaming (a part that inflates beyond its declared size is
  refused): this bounds zip bombs such as a huge shared-strings part.

The used range is found from the cell references themselves (`<c r="XFD1048576">`),
not from the sheet's `<dimension>` element, which a file may omit or get wrong.
Every XML part is measured, not only the data sheet: mapping sheet names to
parts would trust more of the file, and a workbook with an absurd sheet is
broken anyway. The range is counted from A1 and includes styled empty cells, so
it bounds calamine's grid from above. Sheets written the usual way
(`<c r="B7" ...>` on every cell) are measured with numpy over the raw bytes;
any other form (cells without a reference, prefixes, odd quoting) is measured
by placing every cell as calamine does, with expat, which is slower but only
such files pay.
"""

from __future__ import annotations

import re
import xml.parsers.expat
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .contract import RejectedFile

MAX_XLSX_ROWS = 1_048_576
MAX_XLSX_COLUMNS = 16_384
MAX_XLSX_CELLS = 20_000_000
MAX_XLSX_PART_BYTES = 1 << 30
MAX_XLSX_UNCOMPRESSED_BYTES = 2 << 30
_CHUNK_BYTES = 1 << 20
_CELL_TAG_ENDS = np.frombuffer(b" \t\r\n>/", np.uint8)
_PREFIXED_CELL_TAG = re.compile(rb"<[\w.-]+:c[\s>/]")
_WINDOW = np.arange(12)  # "<c r=" is followed by up to 3 letters, 8 digits and a quote


def check_xlsx_bounds(path: Path) -> None:
    """Raise RejectedFile unless every part and sheet of the workbook is of a sane size."""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
            _check_declared_sizes(parts)
            for part in parts:
                extent = _measure_part(archive, part)
                extent.check(part.filename)
    except zipfile.BadZipFile as error:
        raise RejectedFile(f"unreadable xlsx: {error}") from None
    except (OSError, EOFError, ValueError, NotImplementedError) as error:
        raise RejectedFile(f"unreadable xlsx: {type(error).__name__}: {error}") from None


def _check_declared_sizes(parts: list[zipfile.ZipInfo]) -> None:
    for part in parts:
        if part.file_size > MAX_XLSX_PART_BYTES:
            raise RejectedFile(
                f"xlsx too large: part {part.filename!r} inflates to {part.file_size:,} bytes "
                f"(at most {MAX_XLSX_PART_BYTES:,})"
            )
    total = sum(part.file_size for part in parts)
    if total > MAX_XLSX_UNCOMPRESSED_BYTES:
        raise RejectedFile(
            f"xlsx too large: it inflates to {total:,} bytes "
            f"(at most {MAX_XLSX_UNCOMPRESSED_BYTES:,})"
        )


@dataclass
class _Extent:
    """The used range of one part, counted from A1."""

    rows: int = 0
    columns: int = 0

    def widen(self, rows: int, columns: int) -> None:
        self.rows, self.columns = max(self.rows, rows), max(self.columns, columns)

    def check(self, part_name: str) -> None:
        cells = self.rows * self.columns
        if self.rows > MAX_XLSX_ROWS or self.columns > MAX_XLSX_COLUMNS or cells > MAX_XLSX_CELLS:
            raise RejectedFile(
                f"xlsx sheet too large: {part_name!r} spans {self.rows:,} rows x "
                f"{self.columns:,} columns = {cells:,} cells (at most {MAX_XLSX_ROWS:,} rows, "
                f"{MAX_XLSX_COLUMNS:,} columns and {MAX_XLSX_CELLS:,} cells); "
                "delete stray cells far from the data and re-deliver"
            )


def _measure_part(archive: zipfile.ZipFile, part: zipfile.ZipInfo) -> _Extent:
    """Stream one part (zipfile checks size and CRC) and measure the cells it holds."""
    extent = _Extent()
    for segment in _segments(archive, part):
        measured = _canonical_extent(segment)
        if measured is None:  # written some other way: place every cell as calamine does
            return _placed_extent(archive, part)
        extent.widen(*measured)
    return extent


def _segments(archive: zipfile.ZipFile, part: zipfile.ZipInfo):
    """The part's bytes in chunks cut before a '<', so no tag straddles two segments."""
    held: list[bytes] = []
    with archive.open(part) as stream:
        while chunk := stream.read(_CHUNK_BYTES):
            cut = chunk.rfind(b"<")
            if cut < 0:
                held.append(chunk)
                continue
            yield b"".join([*held, chunk[:cut]])
            held = [chunk[cut:]]
        _check_fully_read(stream, part)
    yield b"".join(held)


def _check_fully_read(stream, part: zipfile.ZipInfo) -> None:
    # zipfile stops at the declared size; calamine would inflate on, so a part
    # whose deflate stream goes on is refused (a zip bomb with a forged size)
    decompressor = getattr(stream, "_decompressor", None)
    if decompressor is not None and not getattr(decompressor, "eof", True):
        raise RejectedFile(
            f"xlsx too large: part {part.filename!r} inflates beyond its declared size"
        )


def _canonical_extent(xml: bytes) -> tuple[int, int] | None:
    """(highest row, highest column) if every cell tag is `<c r="B7"...`, else None."""
    size = len(xml)
    padded = np.frombuffer(xml + b"\0" * 32, np.uint8)
    openings = np.flatnonzero(padded[:size] == ord("<"))
    cells = openings[
        (padded[openings + 1] == ord("c")) & np.isin(padded[openings + 2], _CELL_TAG_ENDS)
    ]
    canonical = cells[
        (padded[cells + 2] == ord(" "))
        & (padded[cells + 3] == ord("r"))
        & (padded[cells + 4] == ord("="))
        & (padded[cells + 5] == ord('"'))
    ]
    if len(canonical) != len(cells) or (b":c" in xml and _PREFIXED_CELL_TAG.search(xml)):
        return None
    if len(canonical) == 0:
        return 0, 0
    window = padded[canonical[:, None] + 6 + _WINDOW]
    letters = _leading_count((window >= ord("A")) & (window <= ord("Z")))
    digit_window = np.take_along_axis(window, np.minimum(letters[:, None] + _WINDOW, 11), axis=1)
    digits = _leading_count((digit_window >= ord("0")) & (digit_window <= ord("9")))
    closing = np.take_along_axis(digit_window, np.minimum(digits, 11)[:, None], axis=1)[:, 0]
    well_formed = (letters >= 1) & (letters <= 3) & (digits >= 1) & (digits <= 8)
    if not np.all(well_formed & (closing == ord('"'))):
        return None  # lower case, 4+ letters, 9+ digits...: let the exact placement judge
    return int(_number(digit_window, digits, 10, ord("0")).max()), int(
        _number(window, letters, 26, ord("A") - 1).max()
    )


def _leading_count(flags: np.ndarray) -> np.ndarray:
    """How many leading True values each row of `flags` has."""
    return np.where(flags.all(axis=1), flags.shape[1], np.argmin(flags, axis=1))


def _number(window: np.ndarray, length: np.ndarray, base: int, zero: int) -> np.ndarray:
    """The numbers written by the first `length` symbols of each row of `window`."""
    value = np.zeros(len(window), np.int64)
    for position in range(int(length.max())):
        symbol = window[:, position].astype(np.int64) - zero
        value = np.where(position < length, value * base + symbol, value)
    return value


def _placed_extent(archive: zipfile.ZipFile, part: zipfile.ZipInfo) -> _Extent:
    """Place every cell the way calamine does: a cell without a reference goes right
    of the previous one, a row without one below the previous row."""
    extent = _Extent()
    place = {"row": 0, "column": 0}

    def start(name: str, attributes: dict[str, str]) -> None:
        local = name.rpartition(":")[2]
        reference = attributes.get("r")
        if local == "row":
            place["row"] = _row_number(reference) if reference else place["row"] + 1
            place["column"] = 0
        elif local == "c":
            if reference:
                place["row"], column = _cell_position(reference)
                place["column"] = column - 1
            place["column"] += 1
            extent.widen(place["row"], place["column"])

    parser = xml.parsers.expat.ParserCreate()
    parser.StartElementHandler = start
    try:
        with archive.open(part) as stream:
            while chunk := stream.read(_CHUNK_BYTES):
                parser.Parse(chunk, False)
                extent.check(part.filename)  # stop early rather than read a hostile part on
            parser.Parse(b"", True)
            _check_fully_read(stream, part)
    except xml.parsers.expat.ExpatError as error:
        if part.filename.lower().endswith((".xml", ".rels")):
            raise RejectedFile(f"unreadable xlsx: {part.filename!r} is not XML ({error})") from None
    return extent


_REFERENCE = re.compile(r"\s*([A-Za-z]*)([0-9]*)")


def _cell_position(reference: str) -> tuple[int, int]:
    """(row, column), both from 1, of a reference such as 'XFD1048576'."""
    letters, digits = _REFERENCE.match(reference).groups()
    column = 0
    for letter in letters.upper()[:4]:  # 4 letters are already beyond any limit
        column = column * 26 + ord(letter) - ord("A") + 1
    return _row_number(digits), column


def _row_number(digits: str) -> int:
    digits = digits.strip()
    if not digits.isdigit():
        return 0
    return int(digits) if len(digits) <= 9 else MAX_XLSX_ROWS + 1
