"""The API's input shapes. They check types and resolve references; the rules about the
values themselves are the model's, run by the services (`validate_aimodel`) on every door."""

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from audit.choices import EventType
from audit.feed import MAX_CURSOR_DIGITS, position_of
from models_registry.api.fields import (
    StrictBooleanField,
    StrictCharField,
    StrictDateField,
    StrictDecimalField,
    StrictIntegerField,
    StrictModelSerializer,
)
from models_registry.choices import BulkAction, Capability, ModelStatus, ModelType
from models_registry.filtersets import SLUG_PATTERN
from models_registry.folding import fold
from models_registry.limits import (
    COMPONENT_ID_MAX_LENGTH,
    COMPONENT_NAME_MAX_LENGTH,
    DISPLAY_NAME_MAX_LENGTH,
    REASON_MAX_LENGTH,
)
from models_registry.models import AIModel, Industry, ModelDependency, Provider
from models_registry.models.aimodels import (
    CONTEXT_WINDOW_RANGE,
    COST_DECIMAL_PLACES,
    COST_DIGITS,
    MAX_OUTPUT_TOKENS_RANGE,
    NAME_MAX_LENGTH,
    NAME_VALIDATOR,
    is_name,
)
from models_registry.selectors import aimodel_by_reference, aimodels_by_name
from models_registry.services import ProfileInput

MAX_BULK_IDS = 1000


def schema_pattern(regex) -> str:
    """A Python pattern as a JSON Schema (ECMA-262) one: `\\Z` is spelled `$` there."""
    return regex.pattern.replace(r"\Z", "$")


# The model's rule for names and aliases, as the schema states it (the model checks it).
NAME_SCHEMA = {
    "type": "string",
    "minLength": 1,
    "maxLength": NAME_MAX_LENGTH,
    "pattern": schema_pattern(NAME_VALIDATOR.regex),
}


@extend_schema_field(NAME_SCHEMA)
class NameField(StrictCharField):
    """A model name or alias, taken as sent: surrounding blanks are refused, not trimmed."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", NAME_MAX_LENGTH)
        super().__init__(**kwargs)


class ModelNameField(NameField):
    """Another model, named by its name or an alias (any case)."""

    def __init__(self, **kwargs):
        super().__init__(max_length=None, **kwargs)  # the value validated is the model found

    def to_internal_value(self, data):
        name = super().to_internal_value(data)
        model = aimodels_by_name([name]).get(fold(name)) if is_name(name) else None
        if model is None:
            raise serializers.ValidationError(f"No model named {name!r}.")
        return model

    def to_representation(self, value):
        return value.name


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}], "description": "A model's id or name."})
class ModelReferenceField(serializers.Field):
    """A model named by its id (a JSON number) or its name or an alias (a JSON string); shown by name."""

    default_error_messages = {
        "invalid": "Give a model's id (a number) or its name (a string).",
        "unknown": "No model {value!r}.",
    }

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("invalid")
        model = aimodel_by_reference(data)
        if model is None:
            self.fail("unknown", value=data)
        return model

    def to_representation(self, value):
        return value.name


@extend_schema_field({"type": "string", "pattern": schema_pattern(SLUG_PATTERN)})
class SlugField(serializers.SlugRelatedField):
    """A Provider or Industry named by its slug; a value that cannot be a slug is refused
    before it reaches the database (PostgreSQL rejects NUL characters in a query)."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="slug", **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str) or not SLUG_PATTERN.match(data):
            self.fail("does_not_exist", slug_name=self.slug_field, value=data)
        return super().to_internal_value(data)


def whole_number_in(bounds: tuple[int, int]) -> serializers.IntegerField:
    """An optional whole number; the schema states the model's range (the model checks it)."""
    # A class, not an annotated instance: a serializer deep-copies its fields, annotations lost.
    schema = {"type": "integer", "minimum": bounds[0], "maximum": bounds[1]}
    ranged = extend_schema_field(schema)(type("WholeNumberField", (StrictIntegerField,), {}))
    return ranged(allow_null=True, default=None)


# A price as the schema states it: digits, at most 10 decimal places, never negative.
COST_PATTERN = rf"^(?=.*\d)\d{{0,{COST_DIGITS - COST_DECIMAL_PLACES}}}(?:\.\d{{0,{COST_DECIMAL_PLACES}}})?$"


@extend_schema_field({"type": "string", "format": "decimal", "pattern": COST_PATTERN})
class CostField(StrictDecimalField):
    def __init__(self, **kwargs):
        super().__init__(
            max_digits=COST_DIGITS, decimal_places=COST_DECIMAL_PLACES, min_value=0, allow_null=True, **kwargs
        )


class IndustryProfileSerializer(serializers.Serializer):
    industry = SlugField(queryset=Industry.objects.all())
    enabled = StrictBooleanField(default=True)
    settings = serializers.DictField(default=dict)

    def run_validation(self, data=serializers.empty):
        # DRF lets a PATCH leave out any field, nested ones too; but `industries` replaces
        # the whole list, so each profile is validated whole, in a PATCH as in a POST.
        if self.root is not self and self.root.partial:
            whole = IndustryProfileSerializer(data=data)
            whole.is_valid(raise_exception=True)
            return whole.validated_data
        return super().run_validation(data)


class AIModelSerializer(serializers.Serializer):
    """Create (POST), replace (PUT) and change (PATCH) a model. Fields left out of a PUT
    take their defaults; left out of a PATCH, they stay as they are."""

    id = serializers.IntegerField(read_only=True)
    url = serializers.URLField(read_only=True)
    name = NameField()
    display_name = StrictCharField(max_length=DISPLAY_NAME_MAX_LENGTH, allow_blank=True, default="")
    provider = SlugField(queryset=Provider.objects.all())
    model_type = serializers.ChoiceField(choices=ModelType.choices, default=ModelType.CHAT)
    capabilities = serializers.ListField(child=serializers.ChoiceField(choices=Capability.choices), default=list)
    context_window = whole_number_in(CONTEXT_WINDOW_RANGE)
    max_output_tokens = whole_number_in(MAX_OUTPUT_TOKENS_RANGE)
    input_cost_per_million_tokens = CostField(default=None)
    output_cost_per_million_tokens = CostField(default=None)
    status = serializers.ChoiceField(choices=ModelStatus.choices, default=ModelStatus.ACTIVE)
    deprecation_date = StrictDateField(allow_null=True, default=None)
    sunset_date = StrictDateField(
        allow_null=True,
        default=None,
        help_text="From this day (UTC) the model leaves /v1/models and the selection list; not before "
        "deprecation_date.",
    )
    successor = ModelNameField(allow_null=True, default=None)
    description = StrictCharField(allow_blank=True, default="")
    industries = IndustryProfileSerializer(many=True, required=False)
    metadata = serializers.DictField(default=dict)
    aliases = serializers.ListField(child=NameField(), default=list)
    dependency_count = serializers.IntegerField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    created_by = serializers.CharField(read_only=True, allow_null=True)
    updated_by = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = AIModel  # whose rules the schema states (llm_admin/api/schema.py)

    def service_arguments(self) -> dict:
        """validated_data as the create/update services take it."""
        data = dict(self.validated_data)
        if "industries" in data:
            data["industries"] = [ProfileInput(**item) for item in data["industries"]]
        elif not self.partial:
            data["industries"] = []
        return data


class DependencySerializer(StrictModelSerializer):
    class Meta:
        model = ModelDependency
        fields = ["id", "component_type", "component_id", "component_name", "owner", "registered_at", "registered_by"]
        read_only_fields = ["id", "registered_at", "registered_by"]
        extra_kwargs = {"component_type": {"trim_whitespace": False}}  # a slug as sent, blanks refused
        # The uniqueness of (model, component) is not an error here: registering twice answers 200.
        validators = []


class MoveDependentsSerializer(serializers.Serializer):
    """`POST /api/v1/models/{id}/move-dependents` (docs/contract.md §7, "Lifecycle")."""

    to = ModelReferenceField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The model to move them to: an id or a name (or alias). Left out or null: the model's successor.",
    )
    reason = StrictCharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=REASON_MAX_LENGTH,
        help_text='Why; kept in the audit log (left out: "move dependents of <model> to <target>").',
    )


class MovedDependentsSerializer(serializers.Serializer):
    moved = serializers.IntegerField(
        help_text="How many registered dependencies left the model (each is now registered on the target)."
    )


class DependentSerializer(serializers.Serializer):
    """Something that keeps a model from being deleted (a 409's `dependencies`)."""

    id = serializers.IntegerField(allow_null=True)
    component_type = serializers.CharField()
    component_id = serializers.CharField()
    component_name = serializers.CharField()


class BulkRequestSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=BulkAction.choices)
    ids = serializers.ListField(
        child=StrictIntegerField(min_value=-(2**63), max_value=2**63 - 1), min_length=1, max_length=MAX_BULK_IDS
    )
    atomic = StrictBooleanField(default=False)
    reason = StrictCharField(required=False, allow_blank=True, default="", max_length=REASON_MAX_LENGTH)


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


class ProviderSerializer(StrictModelSerializer):
    class Meta:
        model = Provider
        fields = ["id", "slug", "name", "website", "description"]
        extra_kwargs = {"slug": {"trim_whitespace": False}}  # as sent, blanks refused


class IndustrySerializer(StrictModelSerializer):
    class Meta:
        model = Industry
        fields = ["id", "slug", "name", "description", "settings_schema"]
        extra_kwargs = {"slug": {"trim_whitespace": False}}  # as sent, blanks refused


FEED_LIMIT_DEFAULT, FEED_LIMIT_MAX, FEED_WAIT_MAX = 100, 1000, 30


@extend_schema_field({"type": "string", "pattern": f"^[0-9]{{1,{MAX_CURSOR_DIGITS}}}$"})
class CursorField(StrictCharField):
    """A change feed cursor (opaque to clients): a position in the audit chain."""

    def to_internal_value(self, data):
        try:
            return position_of(super().to_internal_value(data))
        except ValueError as error:
            raise serializers.ValidationError(str(error)) from error


class ChangeFeedParameters(serializers.Serializer):
    """`GET /api/v1/changes`'s query parameters (docs/contract.md §7)."""

    after = CursorField(required=False, help_text="The `next` of the previous answer; left out: from the oldest kept.")
    limit = StrictIntegerField(
        required=False, default=FEED_LIMIT_DEFAULT, min_value=1, max_value=FEED_LIMIT_MAX, help_text="Events at most."
    )
    type = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices),
        required=False,
        default=list,
        help_text="Only events of these types (repeatable: any of them).",
    )
    model = StrictCharField(
        required=False,
        max_length=NAME_MAX_LENGTH,
        help_text="Only events of this model and its parts: an id, or a current name or alias (any case).",
    )
    provider = StrictCharField(
        required=False,
        max_length=Provider._meta.get_field("slug").max_length,
        help_text="Only events concerning this provider (slug): its models' and its own.",
    )
    dependent = StrictCharField(
        required=False,
        max_length=max(COMPONENT_NAME_MAX_LENGTH, COMPONENT_ID_MAX_LENGTH),
        help_text="Only events of the models this component depends on, named by its component_name or "
        "component_id (as registered now).",
    )
    wait = StrictIntegerField(
        required=False,
        default=0,
        min_value=0,
        max_value=FEED_WAIT_MAX,
        help_text="Seconds to wait for a matching change when there is none yet (returns as soon as one commits).",
    )

    def to_internal_value(self, data):
        # A parameter sent empty (`?after=`) is refused, as everywhere in the API; DRF would
        # take it for one left out.
        empty = {
            name: ["Enter a value, or leave the parameter out."]
            for name in self.fields
            if "" in (data.getlist(name) if hasattr(data, "getlist") else [data.get(name)])
        }
        if empty:
            raise serializers.ValidationError(empty)
        return super().to_internal_value(data)

    def validate_wait(self, value: int) -> int:
        """At most CHANGE_FEED_MAX_WAIT seconds (an operator may keep waits below a proxy's timeout)."""
        return min(value, settings.CHANGE_FEED_MAX_WAIT)


# The body of a revert, of an entry or of a request (no docstring: the schema would show it).
class RevertRequestSerializer(serializers.Serializer):
    reason = StrictCharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=REASON_MAX_LENGTH,
        help_text='Why; the new entries\' reason is "revert of entry N: <reason>" (or "revert of request R: ...").',
    )
    force = StrictBooleanField(
        default=False, help_text="Write the old values back even where a field changed since the entry."
    )


class RevertFieldConflictSerializer(serializers.Serializer):
    reverting_to = serializers.JSONField(allow_null=True, help_text="The value the revert would write.")
    changed_from = serializers.JSONField(allow_null=True, help_text="The value the reverted entry wrote.")
    now = serializers.JSONField(allow_null=True, help_text="The value now (null: none, or the object is gone).")
    entry = serializers.IntegerField(required=False, help_text="The entry whose revert meets the conflict.")
    object = serializers.DictField(required=False, help_text='{"type", "id", "name"} of the object it is on.')


class RevertEntryConflictsSerializer(serializers.Serializer):
    entry = serializers.IntegerField()
    object = serializers.DictField(help_text='{"type", "id", "name"}')
    blocked = serializers.CharField(help_text='Why this entry cannot be reverted even with force ("" if it can).')
    conflicts = serializers.DictField(child=RevertFieldConflictSerializer())


# The 409 of a revert (no docstring: the schema would show it). A refused delete or a
# reference in use answer with their own doors' 409 bodies, which share `detail`.
class RevertConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    conflicts = serializers.DictField(
        child=RevertFieldConflictSerializer(),
        required=False,
        help_text="Each field that changed since, once (the newest entry's conflict on it).",
    )
    by_entry = RevertEntryConflictsSerializer(many=True, required=False, help_text="Every conflict, per entry.")
    forceable = serializers.BooleanField(required=False, help_text="Whether `force` would override it.")
    dependencies = DependentSerializer(many=True, required=False, help_text="A model to delete is in use.")
    used_by = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="A provider or industry to delete is in use."
    )
