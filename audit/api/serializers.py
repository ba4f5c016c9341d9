from rest_framework import serializers

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
