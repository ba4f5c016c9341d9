"""Serializer fields that take only the JSON type they name (common/parsing.py).

DRF's own are lenient in ways that get stored: CharField turns 1 into "1" and trims NEL
and NBSP, IntegerField and DecimalField read full-width digits and "1_000", DateField reads
"2026-1-1", BooleanField reads "yes" and 1.
"""

from django.db import models
from rest_framework import serializers

from common.parsing import parse_date, parse_decimal, parse_integer


class StrictCharField(serializers.CharField):
    """A JSON string, as sent: nothing trimmed (the model refuses whitespace around a name)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    def to_internal_value(self, data):
        try:
            return parse_integer(data)
        except ValueError:
            self.fail("invalid")


class StrictDecimalField(serializers.DecimalField):
    def to_internal_value(self, data):
        try:
            number = parse_decimal(data)
        except ValueError:
            self.fail("invalid")
        return super().to_internal_value(number)


class StrictDateField(serializers.DateField):
    def to_internal_value(self, value):
        try:
            return parse_date(value) if isinstance(value, str) else self.fail("invalid", format="YYYY-MM-DD")
        except ValueError:
            self.fail("invalid", format="YYYY-MM-DD")


class StrictBooleanField(serializers.BooleanField):
    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


# A ModelSerializer whose text, integer, date and boolean fields are the strict ones. (No
# docstring: the schema would show it as the description of every serializer built on it.)
class StrictModelSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.IntegerField: StrictIntegerField,
        models.PositiveIntegerField: StrictIntegerField,
        models.BigIntegerField: StrictIntegerField,
        models.DateField: StrictDateField,
        models.BooleanField: StrictBooleanField,
    }
