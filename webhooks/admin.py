"""Webhooks in the admin: subscriptions (the secret shown once, on the page after creating
one), every delivery with every attempt, and the actions "send test event", "redeliver"
and "replay from a cursor". Writes go through webhooks.services, as the API's do."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.template.response import TemplateResponse

from accounts.reauthentication import ReauthenticatedDeleteMixin
from audit.changelists import GuardedChangeListMixin
from audit.choices import EventType
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from webhooks.selectors import model_names, models_named, provider_names, providers_named
from webhooks.services import (
    deliveries_redeliver,
    send_test_event,
    subscription_create,
    subscription_delete,
    subscription_replay,
    subscription_update,
)


def names_in(text: str) -> list[str]:
    return [name.strip() for name in text.replace("\n", ",").split(",") if name.strip()]


class SubscriptionForm(forms.ModelForm):
    types = forms.MultipleChoiceField(
        choices=EventType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every type.",
    )
    providers = forms.CharField(required=False, help_text="Provider slugs, separated by commas; empty: any provider.")
    aimodels = forms.CharField(
        label="Models", required=False, help_text="Model names or aliases, separated by commas; empty: any model."
    )

    class Meta:
        model = WebhookSubscription
        fields = ["name", "url", "types", "providers", "aimodels", "dependent", "active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["providers"] = ", ".join(provider_names(self.instance))
            self.initial["aimodels"] = ", ".join(model_names(self.instance))

    def clean_providers(self):
        pairs, unknown = providers_named(names_in(self.cleaned_data["providers"]))
        if unknown:
            raise forms.ValidationError(f"No provider has the slug {', '.join(map(repr, unknown))}.")
        return pairs

    def clean_aimodels(self):
        pairs, unknown = models_named(names_in(self.cleaned_data["aimodels"]))
        if unknown:
            raise forms.ValidationError(f"No model is named {', '.join(map(repr, unknown))}.")
        return pairs


class ReplayForm(forms.Form):
    after = forms.IntegerField(
        min_value=0,
        label="After cursor",
        help_text="Every event after this chain position, up to where the subscription is now, is sent again "
        "(those its filters let through). 0: from the oldest kept.",
    )


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(GuardedChangeListMixin, ReauthenticatedDeleteMixin, admin.ModelAdmin):
    form = SubscriptionForm
    list_display = ["name", "url", "active", "disabled_reason", "cursor", "updated_at"]
    list_filter = ["active"]
    search_fields = ["name", "url", "dependent"]
    readonly_fields = ["disabled_reason", "cursor", "failing_since", "created_at", "updated_at"]
    actions = ["send_test", "replay"]

    def save_model(self, request, obj, form, change):
        fields = {name: getattr(obj, name) for name in form.Meta.fields}
        if change:
            subscription_update(subscription=obj, actor=request.user, **fields)
            return
        subscription, secret = subscription_create(actor=request.user, **fields)
        obj.pk, obj._state.adding = subscription.pk, False
        request._new_webhook_secret = secret

    def response_add(self, request, obj, post_url_continue=None):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "New webhook subscription",
            "subscription": obj,
            "secret": request._new_webhook_secret,
        }
        return TemplateResponse(request, "admin/webhooks/webhooksubscription/created.html", context)

    def delete_model(self, request, obj):
        subscription_delete(subscription=obj, actor=request.user)

    @admin.action(description="Send a test event", permissions=["change"])
    def send_test(self, request, queryset):
        for subscription in queryset:
            attempt = send_test_event(subscription=subscription, actor=request.user)
            if attempt.succeeded:
                self.message_user(
                    request, f"{subscription}: answered {attempt.status_code} in {attempt.duration_ms} ms."
                )
            else:
                self.message_user(request, f"{subscription}: {attempt.error}", level=messages.WARNING)

    @admin.action(description="Replay from a cursor", permissions=["change"])
    def replay(self, request, queryset):
        form = ReplayForm(request.POST if "after" in request.POST else None)
        if form.is_valid():
            after = form.cleaned_data["after"]
            for subscription in queryset:
                made = subscription_replay(subscription=subscription, after=after)
                self.message_user(request, f"{subscription}: {made} events owed again after cursor {after}.")
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Replay from a cursor",
            "form": form,
            "subscriptions": queryset,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/webhooks/webhooksubscription/replay.html", context)


class AttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ["number", "at", "status_code", "duration_ms", "error", "response_excerpt"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-number"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(GuardedChangeListMixin, admin.ModelAdmin):
    list_display = ["event_id", "event_type", "subscription", "state", "attempts", "next_attempt_at", "created_at"]
    list_filter = ["state", "event_type", "subscription"]
    search_fields = ["event_id"]
    list_select_related = ["subscription"]
    readonly_fields = [
        "subscription", "event_id", "event_type", "position", "state", "attempts", "next_attempt_at", "created_at",
        "delivered_at", "payload",
    ]  # fmt: skip
    fields = readonly_fields
    inlines = [AttemptInline]
    actions = ["redeliver"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # A delivery's page is read-only; "change" is the right to redeliver from the list.
        return obj is None and super().has_change_permission(request)

    @admin.action(description="Redeliver", permissions=["change"])
    def redeliver(self, request, queryset):
        made = deliveries_redeliver(delivery_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{made} deliveries will be sent again by the worker.")
