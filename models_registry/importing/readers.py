"""Files in, rows out: CSV, JSON and XLSX in the project's columns, and LiteLLM's catalog.

A reader refuses a file it cannot read as a whole (ImportFileError: wrong encoding,
truncated JSON, unknown columns, too large); row-level problems are left to validation.
"""

import csv
import io
import json
import zipfile
from decimal import Decimal
from pathlib import Path

from django.conf import settings

from models_registry.importing import cycle_collector
from models_registry.importing.litellm import litellm_rows
from models_registry.importing.source import ImportFileError, SourceFile, SourceRow
from models_registry.resources import COLUMNS, REQUIRED_COLUMNS, TEXT_COLUMNS, unescape_formula

FORMATS = ["csv", "json", "xlsx", "litellm"]
DEFAULT_MAX_BYTES = 32 * 1024 * 1024


def max_import_bytes() -> int:
    return getattr(settings, "IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES)


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
    with cycle_collector.paused():
        rows, columns = reader(data)
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
        for values in reader:
            if any(value.strip() for value in values):
                ref = f"line {line}"
                if len(values) != len(header):
                    rows.append(SourceRow(ref, {"__all__": f"{len(values)} cells for {len(header)} columns"}))
                else:
                    rows.append(SourceRow(ref, _flat_cells(header, values)))
            line = reader.line_num + 1
    except csv.Error as error:
        raise ImportFileError(f"Not valid CSV: {error}.") from error
    return rows, columns


def _read_xlsx(data: bytes):
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as error:
        raise ImportFileError(f"Not a readable XLSX workbook: {error}.") from error
    try:
        sheet = workbook.worksheets[0]
        lines = sheet.iter_rows(values_only=True)
        header = next(lines, None)
        if header is None:
            raise ImportFileError("The workbook's first sheet is empty.")
        columns = _check_header(list(header))
        header = [str(column).strip() for column in header]
        rows = []
        for number, values in enumerate(lines, start=2):
            if any(value not in (None, "") for value in values):
                rows.append(SourceRow(f"row {number}", _flat_cells(header, list(values))))
    finally:
        workbook.close()
    return rows, columns


def _json(data: bytes):
    try:
        # Decimals, not floats: prices must arrive exactly as written.
        return json.loads(_text(data), parse_float=Decimal)
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
    return litellm_rows(catalog)
