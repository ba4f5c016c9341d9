"""/api/v1/: the REST API's routes."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from audit.api.views import AuditEntryViewSet, SecurityEventViewSet
from llm_admin.api.errors import api_not_found
from llm_admin.api.schema_view import SchemaView
from models_registry.api.changes import ChangeFeedView
from models_registry.api.revert import RevertEntryView, RevertRequestView
from models_registry.api.scheduled import ScheduledChangeViewSet
from models_registry.api.views import AIModelViewSet, IndustryViewSet, ProviderViewSet
from webhooks.api.views import WebhookSubscriptionViewSet


class Router(SimpleRouter):
    """Routes without trailing slashes: /api/v1/models/12."""

    def __init__(self):
        super().__init__(trailing_slash="")


router = Router()
router.register("models", AIModelViewSet, basename="aimodel")
router.register("providers", ProviderViewSet, basename="provider")
router.register("industries", IndustryViewSet, basename="industry")
router.register("audit/security", SecurityEventViewSet, basename="securityevent")
router.register("audit", AuditEntryViewSet, basename="auditentry")
router.register("webhooks", WebhookSubscriptionViewSet, basename="webhooksubscription")
router.register("scheduled-changes", ScheduledChangeViewSet, basename="scheduledchange")

app_name = "api"
urlpatterns = [
    path("schema", SchemaView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("changes", ChangeFeedView.as_view(), name="changes"),
    re_path(r"^audit/(?P<id>[0-9]{1,19})/revert\Z", RevertEntryView.as_view(), name="audit-revert"),
    re_path(
        r"^audit/requests/(?P<request_id>[A-Za-z0-9._:-]{1,64})/revert\Z",
        RevertRequestView.as_view(),
        name="audit-request-revert",
    ),
    path("", include(router.urls)),
    re_path(r"^[\s\S]*\Z", api_not_found),
]
