from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit and security logs"

    def ready(self):
        from django.contrib.auth import signals as auth_signals

        from audit import signals
        from audit.append_only import install_append_only_triggers
        from audit.database_roles import refresh_app_role_grants
        from llm_admin.api.signals import request_refused

        auth_signals.user_logged_in.connect(signals.on_login, dispatch_uid="audit.login")
        auth_signals.user_logged_out.connect(signals.on_logout, dispatch_uid="audit.logout")
        auth_signals.user_login_failed.connect(signals.on_login_failed, dispatch_uid="audit.login_failed")
        request_refused.connect(signals.on_request_refused, dispatch_uid="audit.request_refused")
        post_migrate.connect(install_append_only_triggers, sender=self, dispatch_uid="audit.append_only")
        # post_migrate comes after every migration of the run, so every app's new tables exist.
        post_migrate.connect(refresh_app_role_grants, sender=self, dispatch_uid="audit.app_role_grants")
