"""/api/v1/webhooks: subscriptions, their test event and their attempts (administrators;
docs/contract.md §7). Writes go through webhooks.services."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from llm_admin.api.permissions import RegistryPermissions, requires
from models_registry.api.views import REASON_PARAMETER, AsciiIdLookupMixin, change_reason
from webhooks.api.serializers import (
    NewWebhookSubscriptionSerializer,
    WebhookAttemptSerializer,
    WebhookSubscriptionSerializer,
)
from webhooks.models import WebhookSubscription
from webhooks.selectors import attempts_of
from webhooks.services import send_test_event, subscription_create, subscription_delete, subscription_update


@extend_schema_view(
    list=extend_schema(summary="List webhook subscriptions"),
    retrieve=extend_schema(summary="One webhook subscription"),
    create=extend_schema(
        summary="Subscribe a URL (the answer carries its signing secret, once)",
        parameters=[REASON_PARAMETER],
        responses={201: NewWebhookSubscriptionSerializer},
    ),
    partial_update=extend_schema(summary="Change a webhook subscription", parameters=[REASON_PARAMETER]),
    destroy=extend_schema(summary="Delete a webhook subscription", parameters=[REASON_PARAMETER]),
)
class WebhookSubscriptionViewSet(
    AsciiIdLookupMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    queryset = WebhookSubscription.objects.order_by("name", "pk")
    serializer_class = WebhookSubscriptionSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    lookup_value_regex = r"[0-9]+"

    def get_permissions(self):
        if self.action == "send_test":
            return [requires("webhooks.change_webhooksubscription")()]
        if self.action == "deliveries":
            return [requires("webhooks.view_webhooksubscription")()]
        return [RegistryPermissions()]

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subscription, secret = subscription_create(
            actor=request.user, reason=change_reason(request), **serializer.validated_data
        )
        data = NewWebhookSubscriptionSerializer(subscription, context={"secret": secret}).data
        location = request.build_absolute_uri(f"/api/v1/webhooks/{subscription.pk}")
        return Response(data, status=status.HTTP_201_CREATED, headers={"Location": location})

    def perform_update(self, serializer):
        subscription_update(
            subscription=serializer.instance,
            actor=self.request.user,
            reason=change_reason(self.request),
            **serializer.validated_data,
        )

    def perform_destroy(self, instance):
        subscription_delete(subscription=instance, actor=self.request.user, reason=change_reason(self.request))

    @extend_schema(summary="Send a webhook.test event now; the answer is the attempt", request=None,
                   responses={200: WebhookAttemptSerializer})  # fmt: skip
    @action(detail=True, methods=["post"], url_path="test", url_name="test")
    def send_test(self, request, pk=None):
        attempt = send_test_event(subscription=self.get_object(), actor=request.user)
        return Response(WebhookAttemptSerializer(attempt).data)

    @extend_schema(summary="Every attempt to deliver to this subscription, newest first",
                   responses={200: WebhookAttemptSerializer(many=True)})  # fmt: skip
    @action(detail=True, methods=["get"], url_path="deliveries", url_name="deliveries")
    def deliveries(self, request, pk=None):
        attempts = attempts_of(self.get_object())
        page = self.paginate_queryset(attempts)
        return self.get_paginated_response(WebhookAttemptSerializer(page, many=True).data)
