from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from llm_admin.api.errors import api_not_found
from llm_admin.api.health import healthz, readyz
from models_registry.api.openai import OpenAIModelDetailView, OpenAIModelListView
from observability.views import MetricsView

# Under /api/ and /v1/ these answer in the API's JSON shapes; elsewhere with templates/.
handler400 = "llm_admin.api.errors.bad_request"
handler403 = "llm_admin.api.errors.permission_denied"
handler404 = "llm_admin.api.errors.page_not_found"
handler500 = "llm_admin.api.errors.server_error"

admin.site.site_header = admin.site.site_title = "LLM Admin"
admin.site.index_title = "Model registry"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/v1/", include("llm_admin.api_urls")),
    path("v1/models", OpenAIModelListView.as_view(), name="openai-models"),
    # [\s\S], not ".": a name with a newline is still a name to look up (and a JSON 404).
    re_path(r"^v1/models/(?P<name>[\s\S]+)\Z", OpenAIModelDetailView.as_view(), name="openai-model"),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", MetricsView.as_view(), name="metrics"),
    re_path(r"^(?:api|v1)/[\s\S]*\Z", api_not_found),
]
