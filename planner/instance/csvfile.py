"""Reading CSV files as spreadsheets write them.

Accepts UTF-8 with or without a byte-order mark, UTF-16 with a byte-order mark (Excel's
"Unicode text"), CRLF or LF line ends, quoted fields (with embedded delimiters, quotes
and newlines), and comma, semicolon or tab delimiters (sniffed from the header row;
European Excel writes semicolons). Blank rows are skipped. Everything else that is
wrong is reported as a `Problem` with the file, row and column.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from planner.errors import Problem

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_UTF8_BOM = b"\xef\xbb\xbf"
_DELIMITERS = (",", ";", "\t")


@dataclass
class RawTable:
    """The text cells of one CSV file: a header and records keyed by column name."""

    file: str  # as shown in messages
    header: list[str]
    records: list[tuple[int, dict[str, str]]]  # (spreadsheet row number, cells)
    delimiter: str = ","
    problems: list[Problem] = field(default_factory=list)


def as_one_text(text: str) -> str:
    """`text` with each accented letter written one way (Unicode's NFC): 'é' may be stored as
    one character or as 'e' and a combining accent (macOS, some exports), which look the same.
    A material named one way in commodities.csv and the other in options.csv was 'unknown
    commodity: not in commodities.csv (did you mean 'néodyme'?)', its own name."""
    return unicodedata.normalize("NFC", text)


def _decode(data: bytes, file: str) -> tuple[str | None, Problem | None]:
    if data.startswith(b"PK\x03\x04"):
        return None, Problem(file, "is a zip archive, not text",
                             hint="an Excel workbook saved under a .csv name? Save it as 'CSV UTF-8'")
    if data.startswith(_UTF16_BOMS):
        try:
            return data.decode("utf-16"), None
        except UnicodeDecodeError as exc:
            return None, Problem(file, f"is not valid UTF-16 at byte {exc.start}")
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM):]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        row = data[: exc.start].count(b"\n") + 1
        bad = data[exc.start: exc.start + 1]
        return None, Problem(
            file, f"byte 0x{bad.hex()} is not UTF-8 text", row=row,
            hint="save the file as 'CSV UTF-8' (Excel) or with character set 'Unicode (UTF-8)' (LibreOffice)",
        )
    if "\x00" in text:
        row = text[: text.index("\x00")].count("\n") + 1
        return None, Problem(file, "contains NUL bytes: this is a binary file, not CSV text", row=row)
    return text, None


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the header row into the most fields (quotes respected)."""
    lines = text.splitlines()  # a lone CR ends a line too
    first_line = lines[0] if lines else ""
    best, best_count = ",", 1
    for delimiter in _DELIMITERS:
        try:
            fields = next(csv.reader([first_line], delimiter=delimiter), [])
        except csv.Error:  # (the reading proper names what is wrong)
            continue
        if len(fields) > best_count:
            best, best_count = delimiter, len(fields)
    return best


def read_raw_table(path: Path, file: str, fold_case: bool = True) -> RawTable:
    """Read `path` into text cells; header names are stripped and lower-cased (unless not
    `fold_case`: a sweep design's keys name rows, whose case counts).

    Problems (encoding, empty file, duplicate or blank headers, rows longer than the
    header) are collected on the returned table rather than raised.
    """
    table = RawTable(file=file, header=[], records=[])
    try:
        data = path.read_bytes()
    except OSError as exc:
        table.problems.append(Problem(file, f"cannot be read: {exc.strerror}"))
        return table
    text, problem = _decode(data, file)
    if problem is not None or text is None:
        table.problems.append(problem)  # type: ignore[arg-type]
        return table
    text = as_one_text(text)
    if not text.strip():
        table.problems.append(Problem(file, "is empty", hint="expected a header row and one row per record"))
        return table

    first_line = text.split("\n", 1)[0].strip()
    if first_line.lower().startswith("sep=") and len(first_line) == 5:  # Excel's delimiter hint
        table.delimiter = first_line[4]
        text = text.split("\n", 1)[1] if "\n" in text else ""
    else:
        table.delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=table.delimiter)
    rows = []
    try:
        rows.extend(reader)
    except csv.Error as exc:
        table.problems.append(Problem(file, f"cannot be read as CSV text: {exc}", row=reader.line_num,
                                      hint="a value too long, or a stray quote or line break inside a value?"))
        return table
    if not rows:
        table.problems.append(Problem(file, "is empty", hint="expected a header row and one row per record"))
        return table
    header = [h.strip().lower() if fold_case else h.strip() for h in rows[0]]
    # Spreadsheets often add empty trailing header cells; keep them only to check the rows.
    while header and not header[-1]:
        header.pop()
    if not header:
        table.problems.append(Problem(file, "the header row is empty", row=1,
                                      hint="the first row must name the columns"))
        return table
    seen: set[str] = set()
    for i, name in enumerate(header):
        if not name:
            table.problems.append(Problem(file, f"column {i + 1} has no name in the header", row=1))
        elif name in seen:
            table.problems.append(Problem(file, "column name appears twice in the header", row=1, value=name))
        seen.add(name)
    table.header = header

    for row_number, cells in enumerate(rows[1:], start=2):  # as Excel shows it: the sep= line hidden
        cells = [c.strip() for c in cells]
        if not any(cells):
            continue
        extra = [c for c in cells[len(header):] if c]
        if extra:
            table.problems.append(Problem(
                file, f"row has {len(cells)} fields but the header names {len(header)}", row=row_number,
                value=extra[0], hint="a stray value right of the table, or a delimiter inside an unquoted value?",
            ))
        padded = cells[: len(header)] + [""] * (len(header) - len(cells))
        table.records.append((row_number, dict(zip(header, padded))))
    return table
