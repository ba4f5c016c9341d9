"""An audit entry's values read back, and the registry's rendered as entries render them.

Entries hold the audit rendering (`audit.history.json_value`): decimals and dates as text,
a related object by its natural key (a provider's or an industry's slug, a model's name).
A revert writes those values back through the services, so they are parsed here by the
parsers every door reads with (`common/parsing.py`), and a related object is looked
up by its natural key as it is now. To tell whether a field changed since an entry, the
current value is rendered by the same function the entries were (`field_value`), so the
two compare like with like.
"""

from functools import cache

from django.core.exceptions import ValidationError
from django.db import models

from audit.history import audited_fields, field_value
from common.parsing import parse_date, parse_datetime, parse_decimal
from models_registry.models import AIModel, Industry, ModelDependency, ModelIndustryProfile, Provider

# The registry models whose entries can be reverted, by the entries' object_type.
REVERTIBLE = {
    model._meta.model_name: model for model in (AIModel, ModelIndustryProfile, ModelDependency, Provider, Industry)
}


@cache
def _audited(model: type[models.Model]) -> list:
    return audited_fields(model.history.model)  # (`history` builds a manager on each access)


def rendered(obj: models.Model) -> dict:
    """Every audited field of `obj` that has a value, as an entry renders it."""
    values = {field.name: field_value(obj, field) for field in _audited(type(obj))}
    return {name: value for name, value in values.items() if value is not None}


def relations(model: type[models.Model]) -> list[str]:
    """The audited fields of `model` that point at another object (to load it with them)."""
    return [field.name for field in _audited(model) if field.is_relation]


class Resolver:
    """Field values from rendered ones; related objects looked up once per natural key."""

    def __init__(self):
        self._found: dict[tuple, models.Model | None] = {}

    def value(self, model: type[models.Model], name: str, value):
        """The value of field `name` of `model` that the rendering `value` stands for;
        ValidationError naming the field when it stands for nothing now."""
        field = model._meta.get_field(name)
        if value is None:
            return None
        try:
            if field.is_relation:
                return self.related(field, value)
            if isinstance(field, models.DecimalField):
                return parse_decimal(value)
            if isinstance(field, models.DateTimeField):
                return parse_datetime(value)
            if isinstance(field, models.DateField):
                return parse_date(value)
        except ValueError as error:
            raise ValidationError({name: [str(error)]}) from error
        return value  # text, numbers, booleans and JSON are stored as rendered

    def values(self, model: type[models.Model], changes: dict, side: str) -> dict:
        """{field: value} of one side ("old" or "new") of an entry's changes."""
        return {name: self.value(model, name, change[side]) for name, change in changes.items()}

    def related(self, field: models.ForeignKey, key) -> models.Model:
        target = field.related_model
        if (target, key) not in self._found:
            self._found[(target, key)] = target._base_manager.filter(**{target.NATURAL_KEY: key}).first()
        found = self._found[(target, key)]
        if found is None:
            kind = target._meta.verbose_name
            raise ValidationError({field.name: [f"No {kind} is {key!r} now (it was renamed or deleted since)."]})
        return found
