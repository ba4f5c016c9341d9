"""Input fields the API's serializers share."""

from django.db import models
from rest_framework import serializers


class TextField(serializers.CharField):
    """DRF's CharField, without turning a JSON number into text: the schema says a string,
    and `"description": 0` is not one."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class BooleanField(serializers.BooleanField):
    """DRF's BooleanField, taking JSON's true and false only: the schema says a boolean, and
    `0`, `"yes"` or `"off"` are not one."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class ModelSerializer(serializers.ModelSerializer):
    """DRF's ModelSerializer, with the model's text and boolean fields read as above."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: TextField,
        models.TextField: TextField,
        models.BooleanField: BooleanField,
    }
