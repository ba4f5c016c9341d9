"""Read-only admin views of the audit and security logs."""

import json

from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from audit.changelists import GuardedChangeListMixin, filtered_queryset, refused_list
from audit.choices import AuditAction
from audit.exports import audit_csv
from audit.filtersets import AuditEntryFilterSet
from audit.models import AuditEntry, SecurityEvent
from audit.retention import RETENTION_OBJECT_TYPE
from common.paginators import EstimatedCountPaginator


class ReadOnlyAdmin(GuardedChangeListMixin, admin.ModelAdmin):
    """Logs are append-only: the admin can look, never add, edit or delete."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# The logs' filters list their choices from what is known without reading the log: a
# DISTINCT over ten million entries on every page view is what made the list slow.


class UserFilter(admin.SimpleListFilter):
    """Exactly one person's changes (search also matches names of objects and reasons).
    Lists the accounts, first names first; `?user=<name>` also takes one no longer there."""

    title = "user"
    parameter_name = "user"
    LISTED = 100

    def lookups(self, request, model_admin):
        names = get_user_model().objects.order_by("username").values_list("username", flat=True)
        return [(name, name) for name in names[: self.LISTED]]

    def has_output(self):
        return True  # applied even when no name is listed (Django skips filters without output)

    def queryset(self, request, queryset):
        return queryset.filter(username=self.value()) if self.value() else queryset


class ObjectTypeFilter(admin.SimpleListFilter):
    """The kind of object changed: every model with an audited history, and the log's own
    retention runs."""

    title = "object type"
    parameter_name = "object_type"

    def lookups(self, request, model_admin):
        audited = [model for model in apps.get_models() if "history" in model.__dict__]
        return [
            *((model._meta.model_name, model._meta.verbose_name) for model in audited),
            (RETENTION_OBJECT_TYPE, "history pruned (retention runs)"),
        ]

    def queryset(self, request, queryset):
        return queryset.filter(object_type=self.value()) if self.value() else queryset


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["timestamp", "username", "action", "object_type", "object_repr", "source", "change_summary"]
    list_filter = [UserFilter, "action", "source", ObjectTypeFilter, ("timestamp", admin.DateFieldListFilter)]
    search_fields = ["username", "object_repr", "object_id", "request_id", "reason"]
    change_list_template = "admin/audit/auditentry/change_list.html"
    change_form_template = "admin/audit/auditentry/change_form.html"
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    readonly_fields = ["pretty_changes"]
    fields = [
        "timestamp",
        "username",
        "user_id",
        "action",
        "object_type",
        "object_id",
        "object_repr",
        "pretty_changes",
        "reason",
        "source",
        "request_id",
    ]

    # Reverting is a registry change made by models_registry.reverting; its pages live in
    # the registry's admin, under these names.
    REVERT_RIGHT = "audit.revert_auditentry"

    def get_list_display(self, request):
        shown = super().get_list_display(request)
        return [*shown, "revert_link"] if request.user.has_perm(self.REVERT_RIGHT) else shown

    @admin.display(description="revert")
    def revert_link(self, entry):
        if not entry.event_type:  # no registry object changed (a retention run)
            return ""
        restore = entry.object_type == "aimodel" and entry.action == AuditAction.DELETE
        url = reverse("admin:models_registry_aimodel_revert_entry", args=[entry.pk])
        return format_html('<a href="{}" class="llm-revert-entry">{}</a>', url, "Restore…" if restore else "Revert…")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "can_revert": request.user.has_perm(self.REVERT_RIGHT)}
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="changes")
    def change_summary(self, entry):
        return ", ".join(sorted(entry.changes))[:120]

    @admin.display(description="changes")
    def pretty_changes(self, entry):
        return format_html_join(
            "\n",
            "<div><strong>{}</strong>: {} → {}</div>",
            ((field, json.dumps(c.get("old")), json.dumps(c.get("new"))) for field, c in sorted(entry.changes.items())),
        )

    def get_urls(self):
        return [
            path("export.csv", self.admin_site.admin_view(self.export_csv), name="audit_auditentry_export"),
            *super().get_urls(),
        ]

    def export_csv(self, request):
        """The log as CSV: with the list's own filters and search (the link on the list), or
        with the API's filters (?user=&action=&since=...) for scripts."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        api_filters = set(AuditEntryFilterSet.base_filters) - {UserFilter.parameter_name}
        if api_filters & set(request.GET):
            filterset = AuditEntryFilterSet(request.GET, queryset=AuditEntry.objects.all())
            if not filterset.is_valid():
                return refused_list(self)
            entries = filterset.qs
        else:
            entries, refusal = filtered_queryset(self, request)
            if refusal is not None:
                return refusal
        response = StreamingHttpResponse(audit_csv(entries), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
        return response


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyAdmin):
    list_display = [
        "timestamp",
        "event",
        "count",
        "last_seen_at",
        "username",
        "ip_address",
        "method",
        "path",
        "request_id",
    ]
    list_filter = ["event", ("timestamp", admin.DateFieldListFilter)]
    search_fields = ["username", "ip_address", "request_id", "path"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False
