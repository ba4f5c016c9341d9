"""Import from the admin: upload, a preview of every row, then confirm. Nothing is
written before the confirmation; the same importer as the CLI does the work."""

import secrets
import tempfile
import time
from pathlib import Path

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from accounts.views import reauthentication_redirect
from models_registry.importing import (
    FORMATS,
    ImportConflictError,
    ImportFileError,
    import_models,
    max_import_bytes,
    read_source,
)
from models_registry.importing.source import SourceFile

UPLOADS = Path(tempfile.gettempdir()) / "llm-admin-imports"
SESSION_KEY = "llm_imports"
STALE_AFTER = 24 * 3600
PREVIEW_ROWS = 2000  # rows listed on the preview page; the counts cover all of them


class ImportForm(forms.Form):
    file = forms.FileField(help_text="CSV, JSON or XLSX in the project's columns, or a LiteLLM catalog.")
    format = forms.ChoiceField(
        choices=[("", "Detect from the file"), *[(f, f.upper() if f != "litellm" else "LiteLLM") for f in FORMATS]],
        required=False,
    )
    skip_invalid = forms.BooleanField(required=False, label="Apply the valid rows even when some are invalid")


def _check_permission(request):
    if not request.user.has_perm("models_registry.import_aimodel"):
        raise PermissionDenied


def _forget_stale_uploads() -> None:
    UPLOADS.mkdir(mode=0o700, exist_ok=True)
    for path in UPLOADS.iterdir():
        if time.time() - path.stat().st_mtime > STALE_AFTER:
            path.unlink(missing_ok=True)


def keep_upload(data: bytes) -> str:
    """Set an uploaded file aside until it is confirmed (for a day at most); returns its token."""
    _forget_stale_uploads()
    token = secrets.token_hex(16)
    (UPLOADS / token).write_bytes(data)
    return token


def is_upload_token(token: str) -> bool:
    """A token as keep_upload makes them (so it names a file in UPLOADS, nothing else)."""
    return len(token) == 32 and all(char in "0123456789abcdef" for char in token)


def read_upload(form) -> tuple[bytes, SourceFile] | None:
    """The bytes of a valid upload form's file and its rows (`SourceFile`), or None with the
    reason on the form's `file` field. The import and the drift pages both read this way."""
    upload = form.cleaned_data["file"]
    data = upload.read(max_import_bytes() + 1)
    try:
        return data, read_source(upload.name, data, form.cleaned_data["format"] or None)
    except ImportFileError as error:
        form.add_error("file", str(error))
        return None


def import_upload(model_admin, request):
    """GET: the upload form. POST: keep the file aside and show what it would do."""
    _check_permission(request)
    form = ImportForm(request.POST or None, request.FILES or None)
    context = {**model_admin.admin_site.each_context(request), "title": "Import models", "opts": model_admin.opts}
    if request.method == "POST" and form.is_valid() and (upload := read_upload(form)):
        data, source = upload
        token = keep_upload(data)
        pending = request.session.get(SESSION_KEY, {})
        pending[token] = {
            "name": form.cleaned_data["file"].name,
            "format": source.format,
            "skip_invalid": form.cleaned_data["skip_invalid"],
        }
        request.session[SESSION_KEY] = pending
        report = import_models(source, actor=request.user, dry_run=True, skip_invalid=form.cleaned_data["skip_invalid"])
        context |= {
            "title": f"Preview: {source.name}",
            "report": report,
            "rows": report.rows[:PREVIEW_ROWS],
            "more_rows": max(0, len(report.rows) - PREVIEW_ROWS),
            "token": token,
            "skip_invalid": form.cleaned_data["skip_invalid"],
            "can_apply": form.cleaned_data["skip_invalid"] or not report.invalid_rows,
        }
        return TemplateResponse(request, "admin/llm/import_preview.html", context)
    context["form"] = form
    return TemplateResponse(request, "admin/llm/import_form.html", context)


def import_confirm(model_admin, request):
    """POST: apply the previewed file (after the password, if the last sign-in is old)."""
    _check_permission(request)
    changelist = reverse("admin:models_registry_aimodel_changelist")
    if request.method != "POST":
        return HttpResponseRedirect(changelist)
    redirect = reauthentication_redirect(request)
    if redirect is not None:
        return redirect
    token = request.POST.get("token", "")
    pending = request.session.get(SESSION_KEY, {})
    upload = pending.pop(token, None) if is_upload_token(token) else None
    path = UPLOADS / token if upload else None
    if upload is None or not path.exists():
        model_admin.message_user(request, "That import is no longer available; upload the file again.", "error")
        return HttpResponseRedirect(reverse("admin:models_registry_aimodel_import"))
    request.session[SESSION_KEY] = pending
    context = {**model_admin.admin_site.each_context(request), "opts": model_admin.opts}
    try:
        source = read_source(upload["name"], path.read_bytes(), upload["format"])
        report = import_models(source, actor=request.user, skip_invalid=upload["skip_invalid"])
    except (ImportFileError, ImportConflictError) as error:
        model_admin.message_user(request, str(error), "error")
        return HttpResponseRedirect(reverse("admin:models_registry_aimodel_import"))
    finally:
        path.unlink(missing_ok=True)
    context |= {"title": f"Imported: {source.name}", "report": report, "rows": report.invalid_rows[:PREVIEW_ROWS]}
    return TemplateResponse(request, "admin/llm/import_done.html", context)
