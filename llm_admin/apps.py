from django.contrib.admin.apps import AdminConfig


class LLMAdminConfig(AdminConfig):
    default_site = "llm_admin.admin_site.LLMAdminSite"
