"""Filters over the audit and security logs, shared by the API, the admin and the CLI."""

import django_filters

from audit.choices import AuditAction, ChangeSource, SecurityEventType
from audit.models import AuditEntry, SecurityEvent


class AuditEntryFilterSet(django_filters.FilterSet):
    object_type = django_filters.CharFilter()
    object_id = django_filters.CharFilter()
    user = django_filters.CharFilter(field_name="username")
    action = django_filters.ChoiceFilter(choices=AuditAction.choices)
    source = django_filters.ChoiceFilter(choices=ChangeSource.choices)
    request_id = django_filters.CharFilter()
    since = django_filters.IsoDateTimeFilter(field_name="timestamp", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="timestamp", lookup_expr="lte")

    class Meta:
        model = AuditEntry
        fields = ["object_type", "object_id", "user", "action", "source", "request_id", "since", "until"]


class SecurityEventFilterSet(django_filters.FilterSet):
    event = django_filters.ChoiceFilter(choices=SecurityEventType.choices)
    user = django_filters.CharFilter(field_name="username")
    since = django_filters.IsoDateTimeFilter(field_name="timestamp", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="timestamp", lookup_expr="lte")

    class Meta:
        model = SecurityEvent
        fields = ["event", "user", "since", "until"]
