from rest_framework import serializers

from audit.choices import ChangeSource, EventType
from audit.models import AuditEntry, SecurityEvent


class AuditEntrySerializer(serializers.ModelSerializer):
    user = serializers.SerializerMethodField()

    class Meta:
        model = AuditEntry
        fields = [
            "id", "timestamp", "user", "action", "object_type", "object_id", "object_repr", "changes", "reason",
            "source", "request_id", "parent_type", "parent_id",
        ]  # fmt: skip

    def get_user(self, entry) -> str | None:
        return entry.username or None


class SecurityEventSerializer(serializers.ModelSerializer):
    user = serializers.SerializerMethodField()

    class Meta:
        model = SecurityEvent
        fields = [
            "id", "timestamp", "last_seen_at", "count", "event", "user", "ip_address", "method", "path", "request_id",
            "detail",
        ]  # fmt: skip

    def get_user(self, event) -> str | None:
        return event.username or None


class EventObjectSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="aimodel, provider, industry, modeldependency, modelindustryprofile")
    id = serializers.CharField()
    name = serializers.CharField()


class EventModelSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class FieldChangeSerializer(serializers.Serializer):
    old = serializers.JSONField(allow_null=True)
    new = serializers.JSONField(allow_null=True)


# Describes, for the schema, the event `audit.events.event_of` makes. (No docstring: the
# schema would show it.)
class ChangeEventSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="evt_<audit entry id>: unique and stable")
    cursor = serializers.CharField(help_text="Opaque; pass it as `after` to read what follows this event.")
    type = serializers.ChoiceField(choices=EventType.choices)
    occurred_at = serializers.DateTimeField()
    catalog_version = serializers.IntegerField(
        allow_null=True, help_text="The catalog version the change became part of (null outside a registry write)."
    )
    object = EventObjectSerializer()
    model = EventModelSerializer(allow_null=True, help_text="The model changed, or the model the part belongs to.")
    changes = serializers.DictField(child=FieldChangeSerializer())
    actor = serializers.CharField(help_text='The username, or "".')
    source = serializers.ChoiceField(choices=ChangeSource.choices)
    reason = serializers.CharField()
    request_id = serializers.CharField()


class ChangeFeedSerializer(serializers.Serializer):
    results = ChangeEventSerializer(many=True)
    next = serializers.CharField(help_text="The cursor to pass as `after` next time (also when results is empty).")


class CursorExpiredSerializer(serializers.Serializer):
    detail = serializers.CharField()
    oldest = serializers.CharField(help_text="Pass it as `after` to read every event that is kept.")
