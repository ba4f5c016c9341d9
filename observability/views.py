"""GET /metrics (docs/contract.md §7 "Scale"): the Prometheus exposition, to the scraper only."""

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from prometheus_client.exposition import choose_encoder
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import BasePermission
from rest_framework.views import APIView

from audit.security import client_ip
from observability.metrics import Exposition


def presented_token(request) -> str:
    scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def allowed_address(request) -> bool:
    address = client_ip(request)
    if not address or not settings.METRICS_ALLOWED_IPS:
        return False
    try:
        address = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(address in network for network in settings.METRICS_ALLOWED_IPS)


class MetricsAccess(BasePermission):
    """METRICS_TOKEN as a bearer token (compared in constant time), or an address in
    METRICS_ALLOWED_IPS. Anyone else is refused (403, and a row in the security log)."""

    message = "Metrics are for the scraper: present METRICS_TOKEN as a bearer token, or scrape from an allowed address."

    def has_permission(self, request, view) -> bool:
        expected = settings.METRICS_TOKEN
        token = presented_token(request)
        if expected and token and hmac.compare_digest(token.encode(), expected.encode()):
            return True
        return allowed_address(request)


class JSONErrors(BaseContentNegotiation):
    """Errors are JSON whatever the Accept header says (it is for the exposition's format,
    which the view chooses itself), so a scraper is never refused for what it accepts."""

    can_refuse = False

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type

    def select_parser(self, request, parsers):
        return None


EXPOSITION = "The metrics, in the format the Accept header asks for."


class MetricsView(APIView):
    authentication_classes = ()  # the token is the metrics token, not an API token
    permission_classes = (MetricsAccess,)
    throttle_classes = ()
    content_negotiation_class = JSONErrors

    def initial(self, request, *args, **kwargs):
        # A method /metrics does not have is a 405 (with Allow) for anyone, as on every other
        # route, before who is asking is considered.
        if request.method.lower() not in self.http_method_names or not hasattr(self, request.method.lower()):
            self.http_method_not_allowed(request)
        super().initial(request, *args, **kwargs)

    @extend_schema(
        operation_id="metrics",
        summary="Prometheus metrics",
        description="The Prometheus exposition (text format 0.0.4, or OpenMetrics when the Accept header asks "
        "for it) of every server process: request latency by view, responses by status, database statements "
        "and time per request, cache lookups, and the webhook queue. For a caller presenting METRICS_TOKEN as "
        "a bearer token (`Authorization: Bearer <METRICS_TOKEN>`; not an API token), or coming from an "
        "address in METRICS_ALLOWED_IPS; 403 for anyone else.",
        tags=["metrics"],
        responses={
            (200, "text/plain"): OpenApiResponse(OpenApiTypes.STR, description=EXPOSITION),
            (200, "application/openmetrics-text"): OpenApiResponse(OpenApiTypes.STR, description=EXPOSITION),
        },
    )
    def get(self, request):
        encode, content_type = choose_encoder(request.META.get("HTTP_ACCEPT", ""))
        return HttpResponse(encode(Exposition()), content_type=content_type)
