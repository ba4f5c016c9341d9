"""What every registry model shares."""

import re
from collections.abc import Mapping

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.db.models.expressions import DatabaseDefault

from models_registry.models.fields import FoldedTextField
from models_registry.validation_memo import current_memo, scalar_key

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
        them and no bidi or zero-width characters; JSON is what can be stored and served back.

        Django's own loop (`Model.clean_fields`), field by field, so that inside a batch
        writer's `validation_memo` each distinct value of a field is checked once: a field's
        rules depend on its value alone, except a relation's (it reads the database), which
        is never remembered. Errors are ordered as ever: the fields' own, the text rule's,
        the JSON rule's."""
        exclude = exclude or ()
        memo = current_memo()
        own_errors, text_errors, json_errors = {}, {}, {}
        for field, rule in self._field_rules():
            if field.name in exclude or field.generated:
                continue
            raw_value = getattr(self, field.attname)
            if field.blank and raw_value in field.empty_values:
                continue  # as Django skips it; no text or JSON rule refuses an empty value
            if isinstance(raw_value, DatabaseDefault):
                continue
            key = None if memo is None or field.is_relation else scalar_key(raw_value)
            if key is None:
                value, own, broken = self._clean_field(field, rule, raw_value)
            else:
                key = (type(self), field.name, key)
                if (result := memo.get(key)) is None:
                    result = memo[key] = self._clean_field(field, rule, raw_value)
                value, own, broken = result
            if own:
                own_errors[field.name] = list(own)
                continue
            setattr(self, field.attname, value)
            if broken:
                (json_errors if rule == "json" else text_errors)[field.name] = list(broken)
        if own_errors or text_errors or json_errors:
            raise ValidationError(own_errors | text_errors | json_errors)

    def _clean_field(self, field: models.Field, rule: str | None, value) -> tuple:
        """(the cleaned value, the field's own errors, the text or JSON rule's) of one value
        of `field`: a tuple nobody changes, which `validation_memo` may share."""
        try:
            value = field.clean(value, self)
        except ValidationError as error:
            return value, tuple(error.error_list), ()
        if rule == "json":
            problem = json_problem(value)
            return value, (), (ValidationError(problem, code="unstorable_json"),) if problem else ()
        if rule is None or not isinstance(value, str):
            return value, (), ()
        if "\r" in value:  # one line ending, whatever sent it
            value = value.replace("\r\n", "\n").replace("\r", "\n")
        if NOT_TEXT.search(value):
            if CONTROL_CHARACTERS.search(value):
                error = ValidationError("Control characters are not allowed.", code="control_characters")
            else:
                error = ValidationError(NOT_UNICODE, code="not_unicode")
            return value, (), (error,)
        if rule == "label" and (problem := label_problem(value)):
            return value, (), (ValidationError(problem, code="not_a_label"),)
        return value, (), ()

    @classmethod
    def _field_rules(cls) -> list[tuple[models.Field, str | None]]:
        """(field, the rule it also obeys: "text", "label", "json" or None) for each field."""
        if "_rules" not in cls.__dict__:
            text_fields, json_fields = cls._checked_fields()
            rules = {field.name: "label" if field.name in cls.LABEL_FIELDS else "text" for field in text_fields}
            rules |= {field.name: "json" for field in json_fields}
            cls._rules = [(field, rules.get(field.name)) for field in cls._meta.fields]
        return cls._rules

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
