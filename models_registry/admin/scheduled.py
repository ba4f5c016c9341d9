"""Scheduled changes in the admin: schedule one, see them all, cancel pending ones. Whoever
may change models may do all three (docs/contract.md §7); writes go through
models_registry.services.scheduled, as the API's do. A scheduled change is never edited or
deleted: it is cancelled, and kept."""

from django import forms
from django.contrib import admin, messages

from audit.changelists import GuardedChangeListMixin
from models_registry.choices import ScheduledChangeState
from models_registry.models import ScheduledChange
from models_registry.services.scheduled import NotPendingError, scheduled_change_cancel, scheduled_change_create

CHANGE_MODELS = "models_registry.change_aimodel"


class ScheduledChangeForm(forms.ModelForm):
    class Meta:
        model = ScheduledChange
        fields = ["model", "status", "at", "reason"]


@admin.register(ScheduledChange)
class ScheduledChangeAdmin(GuardedChangeListMixin, admin.ModelAdmin):
    form = ScheduledChangeForm
    list_display = ["model", "status", "at", "state", "reason", "created_by", "finished_at", "error"]
    list_filter = ["state", "status"]
    search_fields = ["model__name"]
    autocomplete_fields = ["model"]
    list_select_related = ["model"]
    ordering = ["at", "id"]
    actions = ["cancel_selected"]

    def has_module_permission(self, request):
        return request.user.has_perm(CHANGE_MODELS)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(CHANGE_MODELS)

    def has_add_permission(self, request):
        return request.user.has_perm(CHANGE_MODELS)

    def has_change_permission(self, request, obj=None):
        return False  # cancelled, never edited

    def has_delete_permission(self, request, obj=None):
        return False  # cancelled, never deleted

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["model", "status", "at", "reason", "state", "error", "created_by", "finished_at"]

    def save_model(self, request, obj, form, change):
        # The form has run the model's validation already; the service runs it again, at save.
        saved = scheduled_change_create(
            model=obj.model, status=obj.status, at=obj.at, reason=obj.reason, actor=request.user
        )
        obj.pk = saved.pk

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is None:
            form.base_fields["at"].help_text = "In UTC; must be in the future."
        return form

    @admin.action(description="Cancel the selected pending changes", permissions=["add"])
    def cancel_selected(self, request, queryset):
        cancelled, skipped = 0, 0
        for change in queryset.filter(state=ScheduledChangeState.PENDING):
            try:
                scheduled_change_cancel(change=change, actor=request.user)
                cancelled += 1
            except NotPendingError:
                skipped += 1  # applied meanwhile
        messages.success(request, f"Cancelled {cancelled} scheduled change(s).")
        if skipped or queryset.exclude(state=ScheduledChangeState.PENDING).exists():
            messages.warning(request, "Changes no longer pending were left as they are.")
