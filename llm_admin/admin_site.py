"""The admin site: branded "LLM Admin", with a dashboard for a front page."""

from django.contrib import admin
from django.urls import path

from accounts.views import keepalive, reauthenticate
from audit.models import AuditEntry
from models_registry.selectors import dashboard_summary


class LLMAdminSite(admin.AdminSite):
    site_header = "LLM Admin"
    site_title = "LLM Admin"
    index_title = "Dashboard"
    site_url = None  # no public site beside the admin

    def index(self, request, extra_context=None):
        context = dict(extra_context or {})
        if request.user.has_perm("models_registry.view_aimodel"):
            context["dashboard"] = dashboard_summary()
        if request.user.has_perm("audit.view_auditentry"):
            context["recent_changes"] = AuditEntry.objects.order_by("-timestamp", "-id")[:12]
        return super().index(request, extra_context=context)

    def get_urls(self):
        return [
            path("keepalive/", self.admin_view(keepalive), name="keepalive"),
            path("reauthenticate/", self.admin_view(reauthenticate), name="reauthenticate"),
            *super().get_urls(),
        ]
