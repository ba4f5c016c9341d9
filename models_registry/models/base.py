"""What every registry model shares."""

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models


class RegistryModel(models.Model):
    """Reports each database constraint's violation under the field it guards.

    Django files violations of expression-based constraints (e.g. `Lower("name")`)
    under `__all__`; clients want them on the field. A constraint names its field
    through its `violation_error_code`, listed in `CONSTRAINT_FIELDS`.
    """

    CONSTRAINT_FIELDS: dict[str, str] = {}

    class Meta:
        abstract = True

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
