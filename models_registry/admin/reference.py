"""Providers, industries and dependencies in the admin, written through the services."""

from django.contrib import admin, messages
from django.db import models
from django.db.models import Count, ProtectedError

from accounts.reauthentication import ReauthenticatedDeleteMixin
from audit.changelists import GuardedChangeListMixin
from models_registry.models import Industry, ModelDependency, Provider
from models_registry.services import dependency_unregister, reference_delete, reference_save


class ReferenceAdmin(GuardedChangeListMixin, ReauthenticatedDeleteMixin, admin.ModelAdmin):
    # Names and slugs as typed: whitespace around them is refused by the model, not trimmed.
    formfield_overrides = {models.CharField: {"strip": False}}

    def save_model(self, request, obj, form, change):
        reference_save(instance=obj, actor=request.user)

    def delete_model(self, request, obj):
        try:
            reference_delete(instance=obj, actor=request.user)
        except ProtectedError as error:
            self.message_user(
                request, f"{obj} is still used by {len(error.protected_objects)} object(s).", messages.ERROR
            )


@admin.register(Provider)
class ProviderAdmin(ReferenceAdmin):
    list_display = ["slug", "name", "website", "model_count"]
    search_fields = ["slug", "name"]
    ordering = ["slug"]  # the annotation below drops the model's own ordering

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(model_total=Count("models"))

    @admin.display(description="models", ordering="model_total")
    def model_count(self, provider):
        return provider.model_total


@admin.register(Industry)
class IndustryAdmin(ReferenceAdmin):
    list_display = ["slug", "name", "description"]
    search_fields = ["slug", "name"]


@admin.register(ModelDependency)
class ModelDependencyAdmin(GuardedChangeListMixin, ReauthenticatedDeleteMixin, admin.ModelAdmin):
    """Components register themselves through the API; staff look, and may unregister."""

    list_display = [
        "model", "component_type", "component_id", "component_name", "owner", "registered_at", "registered_by",
    ]  # fmt: skip
    list_filter = ["component_type"]
    list_select_related = ["model"]
    search_fields = ["model__name", "component_id", "component_name", "owner"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        dependency_unregister(dependency=obj, actor=request.user)
