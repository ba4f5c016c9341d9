"""The API's shapes of webhooks (docs/contract.md §7, "Webhooks"). Filters are given by name
(provider slugs, model names or aliases) and kept by id (webhooks.models)."""

from rest_framework import serializers

from audit.choices import EventType
from models_registry.api.fields import StrictBooleanField, StrictCharField
from webhooks.models import NAME_MAX_LENGTH, URL_MAX_LENGTH, WebhookAttempt, WebhookSubscription
from webhooks.selectors import model_names, models_named, provider_names, providers_named

MAX_FILTER_ITEMS = 100


class WebhookSubscriptionSerializer(serializers.ModelSerializer):
    name = StrictCharField(max_length=NAME_MAX_LENGTH)
    url = StrictCharField(max_length=URL_MAX_LENGTH)
    types = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices),
        required=False,
        max_length=len(EventType),
        help_text="Event types to send; empty: all.",
    )
    providers = serializers.ListField(
        child=StrictCharField(max_length=50), required=False, max_length=MAX_FILTER_ITEMS, help_text="Provider slugs."
    )
    models = serializers.ListField(
        child=StrictCharField(max_length=200),
        required=False,
        max_length=MAX_FILTER_ITEMS,
        source="aimodels",
        help_text="Model names (or aliases).",
    )
    dependent = StrictCharField(
        max_length=200, required=False, allow_blank=True, help_text="A component name: only models it depends on."
    )
    active = StrictBooleanField(required=False)

    class Meta:
        model = WebhookSubscription
        fields = [
            "id", "name", "url", "types", "providers", "models", "dependent", "active", "disabled_reason", "cursor",
            "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["disabled_reason", "cursor", "created_at", "updated_at"]

    def validate_types(self, value):
        return list(dict.fromkeys(value))

    def validate_providers(self, value):
        pairs, unknown = providers_named(value)
        if unknown:
            raise serializers.ValidationError(f"No provider has the slug {', '.join(map(repr, unknown))}.")
        return pairs

    def validate_models(self, value):
        pairs, unknown = models_named(value)
        if unknown:
            raise serializers.ValidationError(f"No model is named {', '.join(map(repr, unknown))}.")
        return pairs

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["providers"] = provider_names(instance)
        data["models"] = model_names(instance)
        return data


class NewWebhookSubscriptionSerializer(WebhookSubscriptionSerializer):
    secret = serializers.SerializerMethodField(help_text="The signing secret: shown in this answer only.")

    class Meta(WebhookSubscriptionSerializer.Meta):
        fields = [*WebhookSubscriptionSerializer.Meta.fields, "secret"]

    def get_secret(self, instance) -> str:
        return self.context["secret"]


class WebhookAttemptSerializer(serializers.ModelSerializer):
    event_id = serializers.CharField(source="delivery.event_id")
    type = serializers.CharField(source="delivery.event_type")
    attempt = serializers.IntegerField(source="number")
    response = serializers.CharField(source="response_excerpt", help_text="The start of the response body.")

    class Meta:
        model = WebhookAttempt
        fields = ["event_id", "type", "attempt", "status_code", "duration_ms", "error", "at", "response"]
