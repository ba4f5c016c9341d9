"""The project's own import/export columns, as a django-import-export resource.

One column list and one widget per column serve every door and every format: the CLI
and the admin import through them (`models_registry.importing`) and export through them
(`models_registry.exporting`). CSV and XLSX cells are text ("flat"); JSON keeps native
values (lists, objects, numbers). Either kind of value is accepted on import.
"""

import json
from decimal import Decimal

from import_export import fields, resources, widgets

from common.decimals import decimal_text
from common.parsing import parse_date, parse_decimal, parse_integer
from models_registry import json_text
from models_registry.limits import IMPORT_MAX_JSON_DEPTH
from models_registry.models import AIModel
from models_registry.models.aimodels import DESCRIBED_FIELDS


class StrictWidget(widgets.Widget):
    """A widget whose `clean` raises ValueError with a readable message on bad input."""

    def render(self, value, obj=None, flat=True, **kwargs):
        return "" if value is None and flat else value


def is_empty(value) -> bool:
    """An empty cell: None, or text of nothing but spaces."""
    return value is None or (isinstance(value, str) and not value.strip(" "))


class TextWidget(StrictWidget):
    """Text as it is: a number in a text column is refused, not turned into text, and
    nothing is trimmed (the model's rules refuse a name with whitespace around it)."""

    def clean(self, value, row=None, **kwargs):
        if value is None:
            return ""
        if not isinstance(value, str):
            raise ValueError("Enter text.")
        return value


class OptionalTextWidget(TextWidget):
    """A reference by name (provider slug, successor name); empty means none."""

    def clean(self, value, row=None, **kwargs):
        return None if is_empty(value) else super().clean(value)


def _parsed(parse, value):
    """`parse(value)` (common/parsing.py), None for an empty cell."""
    return None if is_empty(value) else parse(value)


class IntegerWidget(StrictWidget):
    def clean(self, value, row=None, **kwargs):
        return _parsed(parse_integer, value)


class DecimalWidget(StrictWidget):
    def clean(self, value, row=None, **kwargs):
        return _parsed(parse_decimal, value)

    def render(self, value, obj=None, flat=True, **kwargs):
        return "" if value is None and flat else (decimal_text(value) if value is not None else None)


class DateWidget(StrictWidget):
    def clean(self, value, row=None, **kwargs):
        return _parsed(parse_date, value)

    def render(self, value, obj=None, flat=True, **kwargs):
        return value.isoformat() if value is not None else ("" if flat else None)


class NameListWidget(StrictWidget):
    """A list of strings; in a flat cell, separated by commas (spaces after a comma are
    layout; any other whitespace stays, for the model's rules to refuse)."""

    def clean(self, value, row=None, **kwargs):
        if value is None:
            return []
        if isinstance(value, str):
            return [part.strip(" ") for part in value.split(",") if part.strip(" ")]
        if isinstance(value, list):
            if not all(isinstance(item, str) for item in value):
                raise ValueError("Enter a list of strings.")
            return value
        raise ValueError("Enter a list of names.")

    def render(self, value, obj=None, flat=True, **kwargs):
        return ",".join(value) if flat else list(value)


def json_native(value):
    """A JSON value as the JSON module makes it: readers parse numbers with fractions as
    Decimals (so prices stay exact); inside JSON columns they become floats again."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {key: json_native(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_native(item) for item in value]
    return value


class JSONWidget(StrictWidget):
    """A JSON value; in a flat cell, JSON text."""

    def __init__(self, empty):
        super().__init__()
        self.empty = empty

    def clean(self, value, row=None, **kwargs):
        if value is None or (isinstance(value, str) and not value.strip()):
            return type(self.empty)()
        if isinstance(value, str):
            try:
                return json_text.loads(value, max_depth=IMPORT_MAX_JSON_DEPTH)
            except json_text.JSONTooDeepError:
                raise
            except ValueError as error:
                raise ValueError(f"Not valid JSON: {error}") from error
        return json_native(value)

    def render(self, value, obj=None, flat=True, **kwargs):
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")) if flat else value


class AIModelResource(resources.ModelResource):
    name = fields.Field(attribute="name", column_name="name", widget=TextWidget())
    display_name = fields.Field(attribute="display_name", column_name="display_name", widget=TextWidget())
    provider = fields.Field(attribute="provider", column_name="provider", widget=OptionalTextWidget())
    model_type = fields.Field(attribute="model_type", column_name="model_type", widget=TextWidget())
    capabilities = fields.Field(attribute="capabilities", column_name="capabilities", widget=NameListWidget())
    context_window = fields.Field(attribute="context_window", column_name="context_window", widget=IntegerWidget())
    max_output_tokens = fields.Field(
        attribute="max_output_tokens", column_name="max_output_tokens", widget=IntegerWidget()
    )
    input_cost_per_million_tokens = fields.Field(
        attribute="input_cost_per_million_tokens", column_name="input_cost_per_million_tokens", widget=DecimalWidget()
    )
    output_cost_per_million_tokens = fields.Field(
        attribute="output_cost_per_million_tokens", column_name="output_cost_per_million_tokens", widget=DecimalWidget()
    )
    status = fields.Field(attribute="status", column_name="status", widget=TextWidget())
    deprecation_date = fields.Field(attribute="deprecation_date", column_name="deprecation_date", widget=DateWidget())
    sunset_date = fields.Field(attribute="sunset_date", column_name="sunset_date", widget=DateWidget())
    successor = fields.Field(attribute="successor", column_name="successor", widget=OptionalTextWidget())
    description = fields.Field(attribute="description", column_name="description", widget=TextWidget())
    aliases = fields.Field(attribute="aliases", column_name="aliases", widget=NameListWidget())
    industries = fields.Field(attribute="industries", column_name="industries", widget=JSONWidget(empty=[]))
    metadata = fields.Field(attribute="metadata", column_name="metadata", widget=JSONWidget(empty={}))

    class Meta:
        model = AIModel
        import_id_fields = ["name"]
        fields = DESCRIBED_FIELDS
        export_order = fields


COLUMNS: list[str] = AIModelResource._meta.fields
REQUIRED_COLUMNS = ["name"]
# Free-text columns: in CSV and XLSX, a value a spreadsheet would run as a formula is
# written with a leading apostrophe, which import removes again.
TEXT_COLUMNS = ["display_name", "description"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")


def escape_formula(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def unescape_formula(text: str) -> str:
    return text[1:] if text.startswith("'") else text


def column_widget(column: str) -> StrictWidget:
    return AIModelResource.fields[column].widget
