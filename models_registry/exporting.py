"""Models out, in the project's columns, streamed: memory stays flat however many rows.

CSV and JSON are written row by row; XLSX through openpyxl's write-only mode.
"""

import csv
import json
from collections.abc import Iterator
from typing import IO

from django.db.models import Prefetch, QuerySet

from models_registry.models import AIModel, ModelIndustryProfile
from models_registry.resources import COLUMNS, TEXT_COLUMNS, column_widget, escape_formula

EXPORT_FORMATS = ["csv", "json", "xlsx"]
CHUNK = 2000


def model_values(model: AIModel) -> dict:
    """A model as the import/export columns see it."""
    values = {
        column: getattr(model, column) for column in COLUMNS if column not in ("provider", "successor", "industries")
    }
    values["provider"] = model.provider.slug
    values["successor"] = model.successor.name if model.successor_id else None
    values["industries"] = [
        {"industry": p.industry.slug, "enabled": p.enabled, "settings": p.settings}
        for p in model.industry_profiles.all()
    ]
    return values


def export_queryset(queryset: QuerySet) -> QuerySet:
    profiles = ModelIndustryProfile.objects.select_related("industry").order_by("industry__slug")
    return queryset.select_related("provider", "successor").prefetch_related(
        Prefetch("industry_profiles", queryset=profiles)
    )


def rendered_rows(queryset: QuerySet, *, flat: bool) -> Iterator[list]:
    widgets = [column_widget(column) for column in COLUMNS]
    for model in export_queryset(queryset).iterator(chunk_size=CHUNK):
        values = model_values(model)
        row = [widget.render(values[column], flat=flat) for column, widget in zip(COLUMNS, widgets, strict=True)]
        if flat:
            for column in TEXT_COLUMNS:
                index = COLUMNS.index(column)
                row[index] = escape_formula(row[index])
        yield row


def write_csv(queryset: QuerySet, stream: IO[str]) -> int:
    writer = csv.writer(stream)  # "\r\n" rows, so a lone "\r" in a cell is quoted too
    writer.writerow(COLUMNS)
    count = 0
    for count, row in enumerate(rendered_rows(queryset, flat=True), start=1):  # noqa: B007
        writer.writerow(row)
    return count


def write_json(queryset: QuerySet, stream: IO[str]) -> int:
    stream.write("[")
    count = 0
    for count, row in enumerate(rendered_rows(queryset, flat=False), start=1):
        stream.write(",\n" if count > 1 else "\n")
        stream.write(json.dumps(dict(zip(COLUMNS, row, strict=True)), ensure_ascii=False))
    stream.write("\n]\n")
    return count


def write_xlsx(queryset: QuerySet, stream: IO[bytes]) -> int:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("models")
    sheet.append(COLUMNS)
    count = 0
    for count, row in enumerate(rendered_rows(queryset, flat=True), start=1):  # noqa: B007
        sheet.append(row)
    workbook.save(stream)
    return count


WRITERS = {"csv": write_csv, "json": write_json, "xlsx": write_xlsx}
