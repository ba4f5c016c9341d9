"""What every registry model shares."""

import re

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models

# C0 control characters other than tab and newline: they break spreadsheets (XLSX cannot
# hold them) and terminals, and no model name, description or label needs them.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f]")


def contains_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(contains_nul(key) or contains_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(contains_nul(item) for item in value)
    return False


class RegistryModel(models.Model):
    """Reports each database constraint's violation under the field it guards.

    Django files violations of expression-based constraints (e.g. `Lower("name")`)
    under `__all__`; clients want them on the field. A constraint names its field
    through its `violation_error_code`, listed in `CONSTRAINT_FIELDS`.
    """

    CONSTRAINT_FIELDS: dict[str, str] = {}

    class Meta:
        abstract = True

    def clean_fields(self, exclude=None):
        """Field validation, plus one rule for every text and JSON field: text has "\\n" line
        endings and no control characters; JSON holds no NUL (PostgreSQL cannot store it)."""
        errors = {}
        try:
            super().clean_fields(exclude=exclude)
        except ValidationError as error:
            errors = error.error_dict
        for field in self._meta.concrete_fields:
            if field.name in errors or (exclude and field.name in exclude):
                continue
            value = getattr(self, field.attname)
            if isinstance(field, models.CharField | models.TextField) and isinstance(value, str):
                value = value.replace("\r\n", "\n").replace("\r", "\n")  # one line ending, whatever sent it
                setattr(self, field.attname, value)
                if CONTROL_CHARACTERS.search(value):
                    errors[field.name] = [
                        ValidationError("Control characters are not allowed.", code="control_characters")
                    ]
            elif isinstance(field, models.JSONField) and contains_nul(value):
                errors[field.name] = [ValidationError("Null characters are not allowed.", code="null_characters")]
        if errors:
            raise ValidationError(errors)

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
