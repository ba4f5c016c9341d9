"""Catalog drift in the admin (docs/contract.md §7, "Lifecycle"): upload an upstream catalog,
see how the registry differs from it (new upstream, changed field by field, gone upstream),
tick rows and accept them. The importer applies the accepted rows as one audited change
(`models_registry.importing.drift.accept_drift`), and only as they were shown: when the
registry changed since, nothing is applied and the page shows the drift as it is now."""

import json

import orjson
from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from accounts.views import reauthentication_redirect
from models_registry.admin.imports import UPLOADS, ImportForm, is_upload_token, keep_upload, read_upload
from models_registry.folding import fold
from models_registry.importing import read_source
from models_registry.importing.drift import CHANGED, GONE, NEW, DriftNotAccepted, DriftRow, accept_drift, catalog_drift
from models_registry.limits import REASON_MAX_LENGTH

CHANGE_RIGHT = "models_registry.change_aimodel"  # Model Editors and up
SESSION_KEY = "llm_drift"
SHOWN_PER_KIND = 300  # rows offered per kind: all three ticked stay under Django's 1,000 POST fields
INVALID_SHOWN = 50
NEW_SHOWN_FIELDS = [
    "provider", "model_type", "context_window", "max_output_tokens", "input_cost_per_million_tokens",
    "output_cost_per_million_tokens", "capabilities", "deprecation_date",
]  # fmt: skip
SECTIONS = [
    (NEW, "New upstream", "Accepting creates the model as the file describes it."),
    (CHANGED, "Changed upstream", "Accepting sets only the fields listed, to the upstream value."),
    (GONE, "Gone upstream", "Accepting deprecates the model (it is never deleted)."),
]


class DriftForm(forms.Form):
    file = ImportForm.base_fields["file"]
    format = ImportForm.base_fields["format"]


class AcceptForm(forms.Form):
    reason = forms.CharField(
        required=False,
        max_length=REASON_MAX_LENGTH - 200,  # the audit log keeps "catalog drift <file name>: <reason>"
        widget=forms.TextInput(attrs={"size": 80}),
        help_text="Kept in the audit log, after “catalog drift <file>: ”.",
    )


def _check_permission(request) -> None:
    if not request.user.has_perm(CHANGE_RIGHT):
        raise PermissionDenied


def _shown_path(token: str):
    return UPLOADS / f"{token}.shown"


def drift_upload(model_admin, request):
    """GET: the upload form. POST: keep the file aside and show how the registry differs from it."""
    _check_permission(request)
    form = DriftForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid() and (upload := read_upload(form)):
        data, source = upload
        drift = catalog_drift(source)
        if drift.compared:
            token = keep_upload(data)
            pending = request.session.get(SESSION_KEY, {})
            kept = {key: value for key, value in pending.items() if (UPLOADS / key).exists()}  # (a day at most)
            request.session[SESSION_KEY] = kept | {token: {"name": source.name, "format": source.format}}
            return _drift_page(model_admin, request, token, source, drift, AcceptForm())
        form.add_error("file", "No entry in it describes a model the registry could take.")
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Catalog drift",
        "opts": model_admin.opts,
        "form": form,
    }
    return TemplateResponse(request, "admin/llm/drift_form.html", context)


def drift_accept(model_admin, request):
    """POST: apply the ticked rows (after the password, if the last sign-in is old)."""
    _check_permission(request)
    if request.method != "POST":
        return HttpResponseRedirect(reverse("admin:models_registry_aimodel_drift"))
    redirect = reauthentication_redirect(request)
    if redirect is not None:
        return redirect
    token = request.POST.get("token", "")
    upload = request.session.get(SESSION_KEY, {}).get(token) if is_upload_token(token) else None
    if upload is None or not (UPLOADS / token).exists() or not _shown_path(token).exists():
        model_admin.message_user(request, "That comparison is no longer available; upload the file again.", "error")
        return HttpResponseRedirect(reverse("admin:models_registry_aimodel_drift"))
    source = read_source(upload["name"], (UPLOADS / token).read_bytes(), upload["format"])
    shown = {fold(row["name"]): DriftRow(**row) for row in orjson.loads(_shown_path(token).read_bytes())}
    ticked = dict.fromkeys(fold(name) for name in request.POST.getlist("accept"))
    accepted = [shown[key] for key in ticked if key in shown]
    form = AcceptForm(request.POST)
    problems = []
    if not accepted:
        problems.append("Tick the rows to accept.")
    elif any(row.kind == NEW for row in accepted) and not request.user.has_perm("models_registry.add_aimodel"):
        problems.append("Accepting a new model takes the right to add models.")
    if form.is_valid() and not problems:
        try:
            result = accept_drift(
                source,
                accepted=accepted,
                actor=request.user,
                reason=form.cleaned_data["reason"],
                may_create_providers=request.user.has_perm("models_registry.add_provider"),
            )
        except DriftNotAccepted as error:
            drift = catalog_drift(source)
            return _drift_page(
                model_admin, request, token, source, drift, form, stale=error.stale, problems=error.problems
            )
        _forget(request, token)
        model_admin.message_user(
            request,
            f"Catalog drift from {source.name} accepted: {result.created} created, {result.updated} updated, "
            f"{result.deprecated} deprecated (request {request.request_id}).",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:models_registry_aimodel_changelist"))
    return _drift_page(model_admin, request, token, source, catalog_drift(source), form, problems=problems)


def _forget(request, token: str) -> None:
    (UPLOADS / token).unlink(missing_ok=True)
    _shown_path(token).unlink(missing_ok=True)
    pending = request.session.get(SESSION_KEY, {})
    pending.pop(token, None)
    request.session[SESSION_KEY] = pending


def _drift_page(model_admin, request, token, source, drift, form, *, stale=(), problems=()):
    """The drift as it is now, kept beside the upload: accepting applies rows only as shown here."""
    _shown_path(token).write_bytes(orjson.dumps([row.as_json() for row in drift.rows]))
    stale_keys = {fold(name) for name in stale}
    sections = []
    for kind, title, help_text in SECTIONS:
        rows = drift.of_kind(kind)
        sections.append(
            {
                "kind": kind,
                "title": title,
                "help": help_text,
                "count": len(rows),
                "rows": [_row(row, fold(row.name) in stale_keys) for row in rows[:SHOWN_PER_KIND]],
                "more": max(0, len(rows) - SHOWN_PER_KIND),
            }
        )
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": f"Catalog drift: {source.name}",
        "drift": drift,
        "sections": sections,
        "invalid": drift.invalid[:INVALID_SHOWN],
        "more_invalid": max(0, len(drift.invalid) - INVALID_SHOWN),
        "token": token,
        "form": form,
        "stale": list(stale),
        "problems": list(problems),
        "can_create": request.user.has_perm("models_registry.add_aimodel"),
        "shown_per_kind": SHOWN_PER_KIND,
    }
    return TemplateResponse(request, "admin/llm/drift_preview.html", context)


def _row(row: DriftRow, stale: bool) -> dict:
    """A row as the page shows it: each field with its registry and upstream value as text."""
    changes = row.changes
    if row.kind == NEW:
        changes = {name: changes[name] for name in NEW_SHOWN_FIELDS if name in changes}
    fields = [
        {"field": name, "registry": _text(values["registry"]), "upstream": _text(values["upstream"])}
        for name, values in changes.items()
    ]
    return {"name": row.name, "kind": row.kind, "fields": fields, "stale": stale}


def _text(value) -> str:
    if value is None:
        return "—"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
