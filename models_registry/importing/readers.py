"""Files in, rows out: CSV, JSON and XLSX in the project's columns, and LiteLLM's catalog.

A reader refuses a file it cannot read as a whole (ImportFileError: wrong encoding,
truncated JSON, unknown columns, too large); row-level problems are left to validation.
Every limit is checked before the work it bounds (models_registry/limits.py): the size
before reading, the JSON depth before parsing, an XLSX's archive before openpyxl opens
it, the number of rows as they are read.
"""

import csv
import io
import json
import zipfile
from pathlib import Path

from django.conf import settings

from models_registry import json_text, limits
from models_registry.importing.litellm import litellm_rows
from models_registry.importing.source import ImportFileError, SourceFile, SourceRow
from models_registry.resources import COLUMNS, REQUIRED_COLUMNS, TEXT_COLUMNS, unescape_formula

FORMATS = ["csv", "json", "xlsx", "litellm"]
# One CSV cell: the csv module's own limit, set once for the process (it is global).
csv.field_size_limit(limits.IMPORT_MAX_CELL_CHARACTERS)


def max_import_bytes() -> int:
    return getattr(settings, "IMPORT_MAX_BYTES", limits.IMPORT_MAX_BYTES)


def max_import_rows() -> int:
    return getattr(settings, "IMPORT_MAX_ROWS", limits.IMPORT_MAX_ROWS)


def max_inflated_bytes() -> int:
    return getattr(settings, "IMPORT_MAX_INFLATED_BYTES", limits.IMPORT_MAX_INFLATED_BYTES)


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def _check_row_count(count: int) -> None:
    """Called with the number of rows read so far (blank ones too: they cost as much)."""
    if count > max_import_rows():
        raise ImportFileError(
            f"The file has more than {max_import_rows():,} rows, the limit (IMPORT_MAX_ROWS). "
            "Split it into smaller files."
        )


def detect_format(name: str, head: bytes) -> str:
    """The format from the content (XLSX is a zip; JSON starts with [ or {), else the name."""
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"{"):
        return "litellm"
    if stripped.startswith(b"["):
        return "json"
    suffix = Path(name).suffix.lower().lstrip(".")
    return suffix if suffix in ("csv", "json", "xlsx") else "csv"


def read_source(name: str, data: bytes, fmt: str | None = None) -> SourceFile:
    if len(data) > max_import_bytes():
        raise ImportFileError(
            f"The file is too large ({len(data) / 2**20:.1f} MiB); the limit is {max_import_bytes() / 2**20:.0f} MiB."
        )
    if not data.strip():
        raise ImportFileError("The file is empty.")
    fmt = fmt or detect_format(name, data[:64])
    if fmt not in FORMATS:
        raise ImportFileError(f"Unknown format {fmt!r}; use one of {', '.join(FORMATS)}.")
    reader = {"csv": _read_csv, "json": _read_json, "xlsx": _read_xlsx, "litellm": _read_litellm}[fmt]
    try:
        rows, columns = reader(data)
    except RecursionError as error:  # each reader bounds nesting first; a traceback is never the answer
        raise ImportFileError("The file is nested too deeply to read.") from error
    return SourceFile(name=Path(name).name, format=fmt, rows=rows, columns=columns)


def read_path(path: str, fmt: str | None = None) -> SourceFile:
    try:
        size = Path(path).stat().st_size
        if size > max_import_bytes():
            raise ImportFileError(
                f"The file is too large ({size / 2**20:.1f} MiB); the limit is {max_import_bytes() / 2**20:.0f} MiB."
            )
        data = Path(path).read_bytes()
    except OSError as error:
        raise ImportFileError(f"Cannot read {path}: {error.strerror}.") from error
    return read_source(path, data, fmt)


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportFileError(
            f"The file is not UTF-8 text (byte 0x{data[error.start]:02x} at position {error.start}). "
            "Save it as UTF-8 and try again."
        ) from error


def _check_header(header: list) -> set[str]:
    names = [str(column).strip() if column is not None else "" for column in header]
    unknown = [column for column in names if column not in COLUMNS]
    repeated = sorted({column for column in names if names.count(column) > 1})
    missing = [column for column in REQUIRED_COLUMNS if column not in names]
    problems = []
    if unknown:
        problems.append(f"unknown columns: {', '.join(repr(c) for c in unknown)}")
    if repeated:
        problems.append(f"repeated columns: {', '.join(repeated)}")
    if missing:
        problems.append(f"missing columns: {', '.join(missing)}")
    if problems:
        raise ImportFileError(f"Wrong columns ({'; '.join(problems)}). The columns are: {', '.join(COLUMNS)}.")
    return set(names)


def _flat_cells(header: list[str], values: list) -> dict:
    cells = dict(zip(header, values, strict=False))
    for column in TEXT_COLUMNS:
        if isinstance(cells.get(column), str):
            cells[column] = unescape_formula(cells[column])
    return cells


def _read_csv(data: bytes):
    text = _text(data)
    try:
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        header = next(reader, None)
        if header is None:
            raise ImportFileError("The file is empty.")
        columns = _check_header(header)
        header = [column.strip() for column in header]
        rows, line = [], reader.line_num + 1
        for count, values in enumerate(reader, start=1):
            _check_row_count(count)
            if any(value.strip() for value in values):
                ref = f"line {line}"
                if len(values) != len(header):
                    rows.append(SourceRow(ref, {"__all__": f"{len(values)} cells for {len(header)} columns"}))
                else:
                    rows.append(SourceRow(ref, _flat_cells(header, values)))
            line = reader.line_num + 1
    except csv.Error as error:
        if "field larger than field limit" in str(error):
            raise ImportFileError(
                f"Line {reader.line_num}: a cell is longer than {limits.IMPORT_MAX_CELL_CHARACTERS:,} characters, "
                "more than any field can hold."
            ) from error
        raise ImportFileError(f"Not valid CSV: {error}.") from error
    return rows, columns


def _check_archive(data: bytes) -> None:
    """An XLSX is a zip of XML parts: what they inflate to is checked from the archive's
    directory before anything is inflated. (The sizes it declares are the most zipfile will
    inflate: an entry that holds more fails its CRC check.)"""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise ImportFileError(f"Not a readable XLSX workbook: {error}.") from error
    if len(entries) > limits.XLSX_MAX_ENTRIES:
        raise ImportFileError(
            f"Not a readable XLSX workbook: it holds {len(entries):,} parts; the limit is {limits.XLSX_MAX_ENTRIES:,}."
        )
    inflated = sum(entry.file_size for entry in entries)
    if inflated > max_inflated_bytes():
        raise ImportFileError(
            f"The workbook inflates to {_mib(inflated)} uncompressed; the limit is {_mib(max_inflated_bytes())} "
            "(IMPORT_MAX_INFLATED_BYTES)."
        )
    for entry in entries:
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size > limits.XLSX_RATIO_FLOOR and ratio > limits.XLSX_MAX_RATIO:
            raise ImportFileError(
                f"Not a readable XLSX workbook: its part {entry.filename[:100]!r} inflates {ratio:,.0f} times "
                f"(to {_mib(entry.file_size)}); a worksheet inflates at most {limits.XLSX_MAX_RATIO} times."
            )
    if not any(entry.filename.startswith("xl/worksheets/") for entry in entries):
        raise ImportFileError("Not a readable XLSX workbook: it has no worksheet.")


def _read_xlsx(data: bytes):
    from openpyxl import load_workbook

    _check_archive(data)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl on a damaged file raises anything (KeyError, ParseError, ...)
        raise ImportFileError(f"Not a readable XLSX workbook: {error}.") from error
    try:
        return _sheet_rows(workbook)
    except ImportFileError:
        raise
    except Exception as error:  # a part that is not what the workbook says it is
        raise ImportFileError(f"Not a readable XLSX workbook: {error}.") from error
    finally:
        workbook.close()


def _sheet_rows(workbook):
    if not workbook.worksheets:
        raise ImportFileError("Not a readable XLSX workbook: it has no worksheet.")
    # At most one column more than the project has, so that a surplus column is still
    # reported: a sheet claiming 16,384 columns is not read as 16,384 cells a row. Rows
    # come padded to that width; the padding is not a column.
    lines = workbook.worksheets[0].iter_rows(values_only=True, max_col=len(COLUMNS) + 1)
    header = next(lines, None)
    if header is None:
        raise ImportFileError("The workbook's first sheet is empty.")
    header = list(header)
    while header and header[-1] is None:
        header.pop()
    columns = _check_header(header)
    header = [str(column).strip() for column in header]
    rows = []
    for number, values in enumerate(lines, start=2):
        _check_row_count(number - 1)
        if any(value not in (None, "") for value in values):
            if any(value not in (None, "") for value in values[len(header) :]):
                rows.append(SourceRow(f"row {number}", {"__all__": f"cells beyond the {len(header)} columns"}))
            else:
                rows.append(SourceRow(f"row {number}", _flat_cells(header, list(values))))
    return rows, columns


def _json(data: bytes):
    try:
        # Decimals, not floats: prices must arrive exactly as written.
        return json_text.loads(_text(data), max_depth=limits.IMPORT_MAX_JSON_DEPTH, exact=True)
    except json_text.JSONTooDeepError as error:
        raise ImportFileError(
            f"The file is nested deeper than {limits.IMPORT_MAX_JSON_DEPTH} levels; no import needs more."
        ) from error
    except json.JSONDecodeError as error:
        raise ImportFileError(f"Not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}.") from error


def _shown(value) -> str:
    """A value from the file as a report shows it: as it is when it prints plainly, escaped
    otherwise, so that no control character (a NUL, a terminal escape) reaches a screen."""
    text = str(value)[:60]
    return text if text.isprintable() else repr(text)


def _read_json(data: bytes):
    items = _json(data)
    if not isinstance(items, list):
        raise ImportFileError("Expected a JSON list of models (or use --format litellm for a LiteLLM catalog).")
    _check_row_count(len(items))
    rows, columns = [], set()
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            rows.append(SourceRow(f"item {number}", {"__all__": "Each item must be a JSON object."}))
            continue
        unknown = sorted(set(item) - set(COLUMNS))
        if unknown:
            raise ImportFileError(
                f"Item {number} has unknown keys: {', '.join(map(_shown, unknown))}. "
                f"The keys are: {', '.join(COLUMNS)}."
            )
        columns |= set(item)
        rows.append(SourceRow(f"item {number} ({_shown(item.get('name'))})", item))
    return rows, columns


def _read_litellm(data: bytes):
    catalog = _json(data)
    if not isinstance(catalog, dict):
        raise ImportFileError("A LiteLLM catalog is a JSON object keyed by model name.")
    _check_row_count(len(catalog))
    return litellm_rows(catalog)
