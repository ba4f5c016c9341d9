"""The registry in the Django admin. Every write goes through the same services as the
API and the CLI; the admin only gathers input and shows results."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, ProtectedError

from models_registry.choices import BulkAction, Capability
from models_registry.models import AIModel, Industry, ModelDependency, ModelIndustryProfile, Provider
from models_registry.services import (
    HasDependenciesError,
    StaleVersionError,
    aimodel_bulk_apply,
    aimodel_create,
    aimodel_delete,
    aimodel_update,
    dependency_unregister,
    reference_delete,
    reference_save,
)
from models_registry.services.aimodels import editable_field_names


class NamesField(forms.CharField):
    """A list of names typed one per line or comma-separated."""

    widget = forms.Textarea(attrs={"rows": 2})

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        return [part.strip() for part in (value or "").replace(",", "\n").splitlines() if part.strip()]


class AIModelForm(forms.ModelForm):
    capabilities = forms.MultipleChoiceField(
        choices=Capability.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    aliases = NamesField(required=False, help_text="Other names that resolve to this model, one per line.")
    loaded_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    change_reason = forms.CharField(
        required=False, max_length=500, label="Reason for this change", help_text="Kept in the audit log."
    )

    class Meta:
        model = AIModel
        fields = editable_field_names()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["loaded_version"].initial = self.instance.version

    def clean(self):
        cleaned = super().clean()
        loaded = cleaned.get("loaded_version")
        if self.instance.pk and loaded is not None:
            stored = AIModel.objects.filter(pk=self.instance.pk).values_list("version", flat=True).first()
            if stored != loaded:
                raise ValidationError(
                    "Someone else saved this model after you opened it. Reload to see their change, "
                    "then make yours again."
                )
        return cleaned


class IndustryProfileInline(admin.TabularInline):
    model = ModelIndustryProfile
    extra = 0
    autocomplete_fields = ["industry"]


class DependencyInline(admin.TabularInline):
    model = ModelDependency
    extra = 0
    can_delete = False
    fields = ["component_type", "component_id", "component_name", "registered_at", "registered_by"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def _bulk_action(action: BulkAction, description: str, permission: str):
    def run(modeladmin, request, queryset):
        result = aimodel_bulk_apply(action=action, ids=list(queryset.values_list("pk", flat=True)), actor=request.user)
        level = messages.SUCCESS if not result.failed else messages.WARNING
        modeladmin.message_user(
            request, f"{description}: {result.succeeded} succeeded, {result.failed} failed.", level=level
        )
        for item in result.results:
            if not item.ok:
                modeladmin.message_user(request, f"Model #{item.id}: {item.error}", level=messages.WARNING)

    run.__name__ = f"bulk_{action}"
    return admin.action(description=description, permissions=[permission])(run)


@admin.register(AIModel)
class AIModelAdmin(admin.ModelAdmin):
    form = AIModelForm
    list_display = ["name", "display_name", "provider", "model_type", "status", "context_window", "dependency_count"]
    list_filter = ["status", "model_type", "provider"]
    list_select_related = ["provider"]
    search_fields = ["name", "display_name", "description", "provider__slug"]
    autocomplete_fields = ["provider", "successor"]
    inlines = [IndustryProfileInline, DependencyInline]
    show_full_result_count = False
    actions = [
        _bulk_action(BulkAction.ACTIVATE, "Activate selected models", "bulk"),
        _bulk_action(BulkAction.DEACTIVATE, "Deactivate selected models", "bulk"),
        _bulk_action(BulkAction.DEPRECATE, "Deprecate selected models", "bulk"),
        _bulk_action(BulkAction.DELETE, "Delete selected models", "bulk"),
    ]
    fieldsets = [
        (None, {"fields": ["name", "display_name", "provider", "model_type", "status", "description"]}),
        ("Capabilities and limits", {"fields": ["capabilities", "context_window", "max_output_tokens"]}),
        (
            "Pricing (per million tokens)",
            {"fields": ["input_cost_per_million_tokens", "output_cost_per_million_tokens"]},
        ),
        ("Lifecycle", {"fields": ["deprecation_date", "successor", "aliases"]}),
        ("Other", {"classes": ["collapse"], "fields": ["metadata"]}),
        ("Audit", {"fields": ["change_reason", "loaded_version"]}),
    ]

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_bulk_permission(self, request):
        return request.user.has_perm("models_registry.bulk_aimodel")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(dependency_total=Count("dependencies"))

    @admin.display(description="dependencies", ordering="dependency_total")
    def dependency_count(self, model):
        return model.dependency_total

    def save_model(self, request, obj, form, change):
        reason = form.cleaned_data.get("change_reason", "")
        if not change:
            created = aimodel_create(
                actor=request.user, reason=reason, **{name: getattr(obj, name) for name in editable_field_names()}
            )
            obj.pk, obj._state.adding, obj.version = created.pk, False, created.version
            return
        changes = {name: getattr(obj, name) for name in form.changed_data if name in editable_field_names()}
        try:
            aimodel_update(
                model=obj,
                actor=request.user,
                reason=reason,
                expected_version=form.cleaned_data.get("loaded_version"),
                **changes,
            )
        except StaleVersionError:
            # Lost the race after the form's own check: say so; the other save stands.
            self.message_user(
                request, "Someone else saved this model at the same moment; yours was not saved.", level=messages.ERROR
            )

    def delete_model(self, request, obj):
        try:
            aimodel_delete(model=obj, actor=request.user)
        except HasDependenciesError as error:
            self.message_user(request, str(error), level=messages.ERROR)


class ReferenceAdmin(admin.ModelAdmin):
    """Providers and industries: saved and deleted through the audited services."""

    def save_model(self, request, obj, form, change):
        reference_save(instance=obj, actor=request.user)

    def delete_model(self, request, obj):
        try:
            reference_delete(instance=obj, actor=request.user)
        except ProtectedError as error:
            self.message_user(
                request, f"Cannot delete {obj}: still in use ({len(error.protected_objects)}).", level=messages.ERROR
            )

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


@admin.register(Provider)
class ProviderAdmin(ReferenceAdmin):
    list_display = ["slug", "name", "website", "model_count"]
    search_fields = ["slug", "name"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(model_total=Count("models"))

    @admin.display(description="models", ordering="model_total")
    def model_count(self, provider):
        return provider.model_total


@admin.register(Industry)
class IndustryAdmin(ReferenceAdmin):
    list_display = ["slug", "name"]
    search_fields = ["slug", "name"]


@admin.register(ModelDependency)
class ModelDependencyAdmin(admin.ModelAdmin):
    list_display = ["model", "component_type", "component_id", "component_name", "registered_at", "registered_by"]
    list_filter = ["component_type"]
    list_select_related = ["model"]
    search_fields = ["model__name", "component_id", "component_name"]

    # Components register themselves through the API; staff may look, and unregister.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        dependency_unregister(dependency=obj, actor=request.user)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions
