"""Filters over the audit and security logs, shared by the API, the admin and the CLI."""

import datetime

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField

from audit.choices import AuditAction, ChangeSource, SecurityEventType
from audit.models import AuditEntry, SecurityEvent
from common.parsing import parse_datetime


class UTCDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time, in UTC: PostgreSQL refuses offsets beyond ±15:59, which
    Python accepts, so every value is converted here and the unrepresentable refused."""

    def to_python(self, value):
        if isinstance(value, str) and value:
            try:  # strict ISO 8601 first: Django's parser takes "2026-1-1" and any script's digits
                parse_datetime(value)
            except ValueError as error:
                raise forms.ValidationError(str(error), code="invalid") from error
        parsed = super().to_python(value)
        if parsed is None or parsed.tzinfo is None:
            return parsed
        try:
            return parsed.astimezone(datetime.UTC)
        except OverflowError as error:
            raise forms.ValidationError("Enter a date-time between years 1 and 9999.") from error


class UTCDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UTCDateTimeField


class AuditEntryFilterSet(django_filters.FilterSet):
    object_type = django_filters.CharFilter()
    object_id = django_filters.CharFilter()
    user = django_filters.CharFilter(field_name="username")
    action = django_filters.ChoiceFilter(choices=AuditAction.choices)
    source = django_filters.ChoiceFilter(choices=ChangeSource.choices)
    request_id = django_filters.CharFilter()
    since = UTCDateTimeFilter(field_name="timestamp", lookup_expr="gte")
    until = UTCDateTimeFilter(field_name="timestamp", lookup_expr="lte")

    class Meta:
        model = AuditEntry
        fields = ["object_type", "object_id", "user", "action", "source", "request_id", "since", "until"]


class SecurityEventFilterSet(django_filters.FilterSet):
    event = django_filters.ChoiceFilter(choices=SecurityEventType.choices)
    user = django_filters.CharFilter(field_name="username")
    since = UTCDateTimeFilter(field_name="timestamp", lookup_expr="gte")
    until = UTCDateTimeFilter(field_name="timestamp", lookup_expr="lte")

    class Meta:
        model = SecurityEvent
        fields = ["event", "user", "since", "until"]
