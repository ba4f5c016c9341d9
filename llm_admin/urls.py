from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from llm_admin.api.health import api_not_found, healthz, readyz
from models_registry.api.openai import OpenAIModelDetailView, OpenAIModelListView

admin.site.site_header = admin.site.site_title = "LLM Admin"
admin.site.index_title = "Model registry"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/v1/", include("llm_admin.api.urls")),
    path("v1/models", OpenAIModelListView.as_view(), name="openai-models"),
    # [\s\S], not ".": a name with a newline is still a name to look up (and a JSON 404).
    re_path(r"^v1/models/(?P<name>[\s\S]+)\Z", OpenAIModelDetailView.as_view(), name="openai-model"),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    re_path(r"^(?:api|v1)/[\s\S]*\Z", api_not_found),
]
