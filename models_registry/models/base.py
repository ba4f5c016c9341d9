"""What every registry model shares."""

import re
from collections.abc import Mapping

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models

from models_registry.models.fields import FoldedTextField

# C0 control characters other than tab and newline: they break spreadsheets (XLSX cannot
# hold them) and terminals, and no model name, description or label needs them.
CONTROL_RANGES = "\x00-\x08\x0b-\x1f"
CONTROL_CHARACTERS = re.compile(f"[{CONTROL_RANGES}]")
# Halves of a UTF-16 pair on their own (a JSON "\ud800" escape makes one): not encodable as
# UTF-8, so PostgreSQL refuses them and no client could read them back.
SURROGATE_RANGE = "\ud800-\udfff"
LONE_SURROGATES = re.compile(f"[{SURROGATE_RANGE}]")
NOT_UNICODE = "Unpaired surrogate code points (U+D800 to U+DFFF) are not valid text."
NOT_TEXT = re.compile(f"[{CONTROL_RANGES}{SURROGATE_RANGE}]")  # either of the two, in one scan
# The control-character rule as a JSON Schema pattern, for the OpenAPI schema's text fields
# ("\r" passes: it is turned into "\n" before the rule is checked).
REFUSED_IN_TEXT = [code for code in range(0x20) if CONTROL_CHARACTERS.match(chr(code)) and chr(code) != "\r"]
TEXT_PATTERN = "^[^" + "".join(f"\\u{code:04x}" for code in REFUSED_IN_TEXT) + "]*$"
# In a name or label people read and match: characters that reorder or hide what is shown
# ("\u202egpt" displays reversed; "g\u200bpt" looks like "gpt" and is not), and whitespace
# around it, which the doors once trimmed silently (NEL, NBSP) and now leave for this rule.
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
ZERO_WIDTH = "\u200b-\u200d\u2060\ufeff"
INVISIBLE = re.compile(f"[{BIDI_CONTROLS}{ZERO_WIDTH}]")


def label_problem(value: str) -> str | None:
    """Why `value` cannot be a name or display name, or None."""
    if value and (value[0].isspace() or value[-1].isspace()):
        return "Remove the whitespace at the start or end."
    if INVISIBLE.search(value):
        return "Bidirectional control characters and zero-width characters are not allowed."
    return None


# What every JSON value must fit: PostgreSQL cannot store NUL, NaN or infinities, and what
# is stored must render again (64-bit numbers, a sane depth).
JSON_MAX_DEPTH = 64
JSON_NUMBER_LIMIT = 2**63


def json_problem(value, depth: int = 0) -> str | None:
    """Why a JSON value cannot be stored and served back, or None."""
    if depth > JSON_MAX_DEPTH:
        return f"Nested deeper than {JSON_MAX_DEPTH} levels."
    if isinstance(value, str):
        if "\x00" in value:
            return "Null characters are not allowed."
        return NOT_UNICODE if LONE_SURROGATES.search(value) else None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        if value != value or abs(value) >= JSON_NUMBER_LIMIT:  # NaN, infinities, beyond 64 bits
            return "Numbers must be finite and within ±9.2e18."
        return None
    if isinstance(value, dict):
        items = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        return None
    for item in items:
        problem = json_problem(item, depth + 1)
        if problem:
            return problem
    return None


PAST_TENSE = {"create": "created", "update": "updated", "delete": "deleted"}


class RegistryModel(models.Model):
    """Reports each database constraint's violation under the field it guards.

    Django files violations of expression-based constraints (e.g. `Lower("name")`)
    under `__all__`; clients want them on the field. A constraint names its field
    through its `violation_error_code`, listed in `CONSTRAINT_FIELDS`.
    """

    CONSTRAINT_FIELDS: dict[str, str] = {}
    # Text fields people read as names (label_problem); the others are free text.
    LABEL_FIELDS: tuple[str, ...] = ()
    # Change events (audit.choices.EventType): their names' first part, and the path
    # (ORM lookup) to the provider a change concerns, for the feed's provider filter.
    EVENT_PREFIX = ""
    AUDIT_PROVIDER: str | None = None
    # The unique field that names an object wherever another one points at it (in audit
    # diffs and so in change events: audit.history.natural_key); none for parts.
    NATURAL_KEY: str | None = None

    class Meta:
        abstract = True

    @classmethod
    def change_event_type(cls, action: str, changes: Mapping) -> str:
        """The type of the change event for `action` (an AuditAction) with `changes`."""
        return f"{cls.EVENT_PREFIX}.{PAST_TENSE[action]}"

    def clean_fields(self, exclude=None):
        """Field validation, plus one rule for every text and JSON field: text has "\\n" line
        endings and no control characters; names (LABEL_FIELDS) have no whitespace around
        them and no bidi or zero-width characters; JSON is what can be stored and served back."""
        errors = {}
        try:
            super().clean_fields(exclude=exclude)
        except ValidationError as error:
            errors = error.error_dict
        text_fields, json_fields = self._checked_fields()
        for field in text_fields:
            if field.name in errors or (exclude and field.name in exclude):
                continue
            value = getattr(self, field.attname)
            if not isinstance(value, str):  # what Django's check lets through a blank field
                if value is not None:  # an empty list or dict
                    errors[field.name] = [ValidationError("Enter text.", code="not_text")]
                elif not field.null:
                    errors[field.name] = [ValidationError(field.error_messages["null"], code="null")]
                continue
            if "\r" in value:  # one line ending, whatever sent it
                value = value.replace("\r\n", "\n").replace("\r", "\n")
                setattr(self, field.attname, value)
            if NOT_TEXT.search(value):
                if CONTROL_CHARACTERS.search(value):
                    error = ValidationError("Control characters are not allowed.", code="control_characters")
                else:
                    error = ValidationError(NOT_UNICODE, code="not_unicode")
                errors[field.name] = [error]
            elif field.name in self.LABEL_FIELDS and (problem := label_problem(value)):
                errors[field.name] = [ValidationError(problem, code="not_a_label")]
        for field in json_fields:
            if field.name in errors or (exclude and field.name in exclude):
                continue
            if problem := json_problem(getattr(self, field.attname)):
                errors[field.name] = [ValidationError(problem, code="unstorable_json")]
        if errors:
            raise ValidationError(errors)

    @classmethod
    def request_text_patterns(cls) -> dict[str, str]:
        """{field: pattern} of the text fields the one text rule guards, which the OpenAPI
        schema states for the request fields that write them (llm_admin.api.schema)."""
        return {field.name: TEXT_PATTERN for field in cls._checked_fields()[0]}

    @classmethod
    def _checked_fields(cls) -> tuple[list[models.Field], list[models.Field]]:
        """The model's text fields and JSON fields, listed once per model class."""
        if "_checked" not in cls.__dict__:
            fields = cls._meta.concrete_fields
            cls._checked = (
                [
                    field
                    for field in fields
                    # (derived text is written by the field itself, separators included)
                    if isinstance(field, models.CharField | models.TextField) and not isinstance(field, FoldedTextField)
                ],
                [field for field in fields if isinstance(field, models.JSONField)],
            )
        return cls._checked

    def get_constraints(self):
        # Check constraints are the database's backstop for rules that field validators
        # already report, per field; evaluating them in Python costs a query each.
        return [
            (model_class, [c for c in constraints if not isinstance(c, models.CheckConstraint)])
            for model_class, constraints in super().get_constraints()
        ]

    def validate_constraints(self, exclude=None):
        try:
            super().validate_constraints(exclude=exclude)
        except ValidationError as error:
            keyed: dict[str, list] = {}
            for field, errors in error.error_dict.items():
                for item in errors:
                    target = self.CONSTRAINT_FIELDS.get(item.code, field) if field == NON_FIELD_ERRORS else field
                    keyed.setdefault(target, []).append(item)
            raise ValidationError(keyed) from error
