"""Revert and restore in the admin: a preview of what reverting an audit entry, or every
entry of one request, would change (each field's value now and the value it goes back to,
the fields changed since marked), with a reason, `force` where fields changed since, and a
POST that applies it through `models_registry.reverting`, as the API does. A large request
(an import of thousands of rows) is summarised: how many steps of each kind, the fields
changed since, and the first `PREVIEW_STEPS` steps, those that conflict or cannot be done
first."""

import json
from collections import Counter

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import ProtectedError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse

from accounts.views import reauthentication_redirect
from audit.choices import AuditAction
from audit.context import REQUEST_ID_PATTERN
from audit.events import MODEL_OBJECT_TYPE
from audit.models import AuditEntry
from models_registry.limits import REASON_MAX_LENGTH
from models_registry.models import AIModel
from models_registry.reverting import (
    RevertRefused,
    entry_label,
    plan_revert,
    request_entries,
    request_label,
    revert,
)
from models_registry.reverting.plan import COVERED, RESTORE
from models_registry.services import HasDependenciesError

REVERT_RIGHT = "audit.revert_auditentry"
PREVIEW_STEPS = 100  # steps shown one by one; the rest are counted


class RevertForm(forms.Form):
    reason = forms.CharField(
        required=False,
        max_length=REASON_MAX_LENGTH,
        widget=forms.TextInput(attrs={"size": 80}),
        help_text="Kept in the audit log, after “revert of …”.",
    )
    force = forms.BooleanField(required=False, label="Revert anyway: write the old values over the changes made since")


def revert_entry_view(model_admin, request, entry_id: int):
    entry = get_object_or_404(AuditEntry, pk=entry_id)
    restore = entry.object_type == MODEL_OBJECT_TYPE and entry.action == AuditAction.DELETE
    title = f"{'Restore' if restore else 'Revert'} {entry.object_type} {entry.object_repr} (entry {entry.pk})"
    return _revert_page(model_admin, request, lambda: [entry], entry_label(entry), title)


def revert_request_view(model_admin, request, request_id: str):
    if not REQUEST_ID_PATTERN.match(request_id):
        raise Http404("Not a request id.")
    return _revert_page(
        model_admin,
        request,
        lambda: request_entries(request_id),
        request_label(request_id),
        f"Revert request {request_id}",
    )


def _revert_page(model_admin, request, entries_of, label: str, title: str):
    if not request.user.has_perm(REVERT_RIGHT):
        raise PermissionDenied
    form = RevertForm(request.POST or None)
    refused: list[str] = []
    entries = entries_of()
    if request.method == "POST":
        redirect = reauthentication_redirect(request)
        if redirect is not None:
            return redirect
        if form.is_valid():
            try:
                written = revert(entries=entries, label=label, actor=request.user, **form.cleaned_data)
            except RevertRefused as error:
                refused = [str(error)]
            except ValidationError as error:
                refused = [f"{name}: {message}" for name, items in _errors(error).items() for message in items]
            except (HasDependenciesError, ProtectedError) as error:
                refused = [str(error) if isinstance(error, HasDependenciesError) else "It is still in use."]
            else:
                return _done(model_admin, request, entries, written)
    plan, not_revertible = None, []
    if entries:
        try:
            plan = plan_revert(entries)
        except ValidationError as error:
            not_revertible = error.messages
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": title,
        "label": label,
        "entries": entries,
        "plan": plan,
        **(_summary(plan) if plan else {"steps": []}),
        "not_revertible": not_revertible,
        "refused": refused,
        "form": form,
        "restore": plan is not None and all(step.kind in (RESTORE, COVERED) for step in plan.steps),
    }
    return TemplateResponse(request, "admin/llm/revert_preview.html", context)


def _errors(error: ValidationError) -> dict:
    return error.message_dict if hasattr(error, "error_dict") else {"error": error.messages}


def _done(model_admin, request, entries, written) -> HttpResponseRedirect:
    """After the revert: the model's history when it was about one model that exists, else
    the audit log's entries of this revert."""
    messages.success(request, f"Reverted: {len(written)} change{'s' if len(written) != 1 else ''} recorded.")
    model_ids = {_model_id(entry) for entry in entries}
    model_id = model_ids.pop() if len(model_ids) == 1 else None
    if model_id is not None and AIModel.objects.filter(pk=model_id).exists():
        return HttpResponseRedirect(reverse("admin:models_registry_aimodel_history", args=[model_id]))
    return HttpResponseRedirect(f"{reverse('admin:audit_auditentry_changelist')}?q={request.request_id}")


def _model_id(entry: AuditEntry) -> int | None:
    """The model an entry is about, itself or as the model of its part."""
    if entry.object_type == MODEL_OBJECT_TYPE:
        return int(entry.object_id)
    return int(entry.parent_id) if entry.parent_type == MODEL_OBJECT_TYPE else None


def _summary(plan) -> dict:
    """The steps shown (those that conflict or cannot be done first), and every step counted."""
    notable = sorted(plan.steps, key=lambda step: not (step.blocked or step.conflicts))
    counts = Counter((step.entry.object_type, step.what) for step in plan.steps)
    changed_since = Counter(item.field for _, item in plan.conflicts)
    return {
        "steps": [_shown(step) for step in notable[:PREVIEW_STEPS]],
        "hidden_steps": max(len(plan.steps) - PREVIEW_STEPS, 0),
        "counts": [{"object_type": kind, "what": what, "count": n} for (kind, what), n in sorted(counts.items())],
        "changed_since": sorted(changed_since.items()),
    }


def _shown(step) -> dict:
    """A step as the preview shows it."""
    return {
        "step": step,
        "fields": [
            {
                "field": item.field,
                "now": _text(item.now),
                "reverting_to": _text(item.reverting_to),
                "changed_from": _text(item.changed_from),
                "conflict": item.conflict,
                "changes": item.now != item.reverting_to,
            }
            for item in step.fields
        ],
    }


def _text(value) -> str:
    if value is None:
        return "—"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
