"""The API's input shapes. They check types and resolve references; the rules about the
values themselves are the model's, run by the services (`validate_aimodel`) on every door."""

from rest_framework import serializers

from models_registry.choices import BulkAction, Capability, ModelStatus, ModelType
from models_registry.filtersets import SLUG_PATTERN
from models_registry.folding import fold
from models_registry.models import Industry, ModelDependency, Provider
from models_registry.models.aimodels import COST_DECIMAL_PLACES, COST_DIGITS, NAME_MAX_LENGTH, is_name
from models_registry.selectors import aimodels_by_name
from models_registry.services import ProfileInput

MAX_BULK_IDS = 1000


class ModelNameField(serializers.CharField):
    """Another model, named by its name or an alias (any case)."""

    def to_internal_value(self, data):
        name = super().to_internal_value(data)
        model = aimodels_by_name([name]).get(fold(name)) if is_name(name) else None
        if model is None:
            raise serializers.ValidationError(f"No model named {name!r}.")
        return model

    def to_representation(self, value):
        return value.name


class SlugField(serializers.SlugRelatedField):
    """A Provider or Industry named by its slug; a value that cannot be a slug is refused
    before it reaches the database (PostgreSQL rejects NUL characters in a query)."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="slug", **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str) or not SLUG_PATTERN.match(data):
            self.fail("does_not_exist", slug_name=self.slug_field, value=data)
        return super().to_internal_value(data)


class CostField(serializers.DecimalField):
    def __init__(self, **kwargs):
        super().__init__(
            max_digits=COST_DIGITS, decimal_places=COST_DECIMAL_PLACES, min_value=0, allow_null=True, **kwargs
        )


class IndustryProfileSerializer(serializers.Serializer):
    industry = SlugField(queryset=Industry.objects.all())
    enabled = serializers.BooleanField(default=True)
    settings = serializers.DictField(default=dict)


class AIModelSerializer(serializers.Serializer):
    """Create (POST), replace (PUT) and change (PATCH) a model. Fields left out of a PUT
    take their defaults; left out of a PATCH, they stay as they are."""

    id = serializers.IntegerField(read_only=True)
    url = serializers.URLField(read_only=True)
    name = serializers.CharField(max_length=NAME_MAX_LENGTH)
    display_name = serializers.CharField(max_length=200, allow_blank=True, default="")
    provider = SlugField(queryset=Provider.objects.all())
    model_type = serializers.ChoiceField(choices=ModelType.choices, default=ModelType.CHAT)
    capabilities = serializers.ListField(child=serializers.ChoiceField(choices=Capability.choices), default=list)
    context_window = serializers.IntegerField(allow_null=True, default=None)
    max_output_tokens = serializers.IntegerField(allow_null=True, default=None)
    input_cost_per_million_tokens = CostField(default=None)
    output_cost_per_million_tokens = CostField(default=None)
    status = serializers.ChoiceField(choices=ModelStatus.choices, default=ModelStatus.ACTIVE)
    deprecation_date = serializers.DateField(allow_null=True, default=None)
    successor = ModelNameField(allow_null=True, default=None)
    description = serializers.CharField(allow_blank=True, default="", trim_whitespace=False)
    industries = IndustryProfileSerializer(many=True, required=False)
    metadata = serializers.DictField(default=dict)
    aliases = serializers.ListField(child=serializers.CharField(max_length=NAME_MAX_LENGTH), default=list)
    dependency_count = serializers.IntegerField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    created_by = serializers.CharField(read_only=True, allow_null=True)
    updated_by = serializers.CharField(read_only=True, allow_null=True)

    def service_arguments(self) -> dict:
        """validated_data as the create/update services take it."""
        data = dict(self.validated_data)
        if "industries" in data:
            data["industries"] = [ProfileInput(**item) for item in data["industries"]]
        elif not self.partial:
            data["industries"] = []
        return data


class DependencySerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelDependency
        fields = ["id", "component_type", "component_id", "component_name", "registered_at", "registered_by"]
        read_only_fields = ["id", "registered_at", "registered_by"]
        # The uniqueness of (model, component) is not an error here: registering twice answers 200.
        validators = []


class DependentSerializer(serializers.Serializer):
    """Something that keeps a model from being deleted (a 409's `dependencies`)."""

    id = serializers.IntegerField(allow_null=True)
    component_type = serializers.CharField()
    component_id = serializers.CharField()
    component_name = serializers.CharField()


class BulkRequestSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=BulkAction.choices)
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=-(2**63), max_value=2**63 - 1), min_length=1, max_length=MAX_BULK_IDS
    )
    atomic = serializers.BooleanField(default=False)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class BulkItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    ok = serializers.BooleanField()
    error = serializers.CharField(required=False)
    dependencies = DependentSerializer(many=True, required=False)
    unchanged = serializers.BooleanField(required=False)


class BulkResultSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=BulkAction.choices)
    total = serializers.IntegerField()
    succeeded = serializers.IntegerField()
    failed = serializers.IntegerField()
    results = BulkItemSerializer(many=True)


class ModelOptionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    display_name = serializers.CharField()
    provider = serializers.CharField()
    model_type = serializers.ChoiceField(choices=ModelType.choices)


class ProviderSerializer(serializers.ModelSerializer):
    class Meta:
        model = Provider
        fields = ["id", "slug", "name", "website", "description"]


class IndustrySerializer(serializers.ModelSerializer):
    class Meta:
        model = Industry
        fields = ["id", "slug", "name", "description", "settings_schema"]
