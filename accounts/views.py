"""Admin views for sessions: stay signed in, and give the password again before a
destructive operation (which then continues where it was)."""

from django import forms
from django.contrib import admin
from django.contrib.auth import authenticate
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import resolve_url
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.sessions import mark_authenticated, needs_reauthentication

PENDING_POST = "llm_pending_post"
GRANTED_PATH = "llm_reauthenticated_for"  # the one operation the password was just given for


def keepalive(request):
    """Any request renews the idle timeout; this one does nothing else."""
    return JsonResponse({"ok": True})


def reauthentication_redirect(request):
    """None when the password was given recently enough; otherwise keep this POST and
    send the person to give it again, after which the POST is made again."""
    if request.session.get(GRANTED_PATH) == request.get_full_path():
        del request.session[GRANTED_PATH]
        return None
    if not needs_reauthentication(request.session):
        return None
    data = [(key, values) for key, values in request.POST.lists() if key != "csrfmiddlewaretoken"]
    request.session[PENDING_POST] = {"path": request.get_full_path(), "data": data}
    return HttpResponseRedirect(reverse("admin:reauthenticate"))


class PasswordForm(forms.Form):
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autofocus": True, "autocomplete": "current-password"})
    )


def reauthenticate(request):
    pending = request.session.get(PENDING_POST)
    form = PasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = authenticate(request, username=request.user.get_username(), password=form.cleaned_data["password"])
        if user is not None and user.pk == request.user.pk:
            mark_authenticated(request.session, signed_in=False)
            pending = request.session.pop(PENDING_POST, None)
            if pending and url_has_allowed_host_and_scheme(pending["path"], allowed_hosts={request.get_host()}):
                request.session[GRANTED_PATH] = pending["path"]
                context = {**admin.site.each_context(request), "title": "Continuing…", "pending": pending}
                return TemplateResponse(request, "admin/llm/resubmit.html", context)
            return HttpResponseRedirect(resolve_url("admin:index"))
        form.add_error("password", "That is not your password.")
    context = {
        **admin.site.each_context(request),
        "title": "Confirm it is you",
        "form": form,
        "pending_path": pending["path"] if pending else None,
    }
    return TemplateResponse(request, "admin/llm/reauthenticate.html", context)
