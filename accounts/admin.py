"""API tokens in the admin: create one (its key is shown once, on the page that follows),
see when each was last used, revoke."""

import datetime

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.template.response import TemplateResponse

from accounts.models import ServiceToken
from accounts.reauthentication import ReauthenticatedDeleteMixin
from accounts.services import api_token_create, api_tokens_revoke
from audit.changelists import GuardedChangeListMixin


class NewTokenForm(forms.ModelForm):
    user = forms.ModelChoiceField(queryset=get_user_model().objects.filter(is_active=True).order_by("username"))
    expires_in_days = forms.IntegerField(
        required=False, min_value=1, max_value=3650, help_text="Leave empty for a token that does not expire."
    )

    class Meta:
        model = ServiceToken
        fields = ["user", "name"]


@admin.register(ServiceToken)
class ServiceTokenAdmin(GuardedChangeListMixin, ReauthenticatedDeleteMixin, admin.ModelAdmin):
    form = NewTokenForm
    list_display = ["token_key", "user", "name", "created", "expiry", "last_used_at"]
    list_filter = ["user"]
    search_fields = ["user__username", "name", "token_key"]
    list_select_related = ["user"]

    def has_change_permission(self, request, obj=None):
        return False  # a token is created or revoked, never edited

    def save_model(self, request, obj, form, change):
        days = form.cleaned_data.get("expires_in_days")
        token, key = api_token_create(
            user=form.cleaned_data["user"],
            expires_in=datetime.timedelta(days=days) if days else None,
            name=form.cleaned_data["name"],
        )
        obj.pk, obj._state.adding = token.pk, False
        request._new_token_key = key

    def response_add(self, request, obj, post_url_continue=None):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "New API token",
            "token": obj,
            "key": request._new_token_key,
        }
        return TemplateResponse(request, "admin/accounts/servicetoken/created.html", context)

    def delete_model(self, request, obj):
        api_tokens_revoke(user=obj.user, tokens=ServiceToken.objects.filter(pk=obj.pk))
