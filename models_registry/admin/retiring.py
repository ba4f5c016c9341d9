"""Retiring a model from its admin page: a button "Move N dependents to <successor>", then a
page that lists them and asks why, then the same service as the API and the command
(`aimodel_move_dependents`), all or nothing."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from models_registry.choices import ModelStatus
from models_registry.limits import REASON_MAX_LENGTH
from models_registry.models import AIModel, ModelDependency
from models_registry.services import TargetNotActiveError, aimodel_move_dependents

LISTED = 200  # dependencies listed on the confirmation page; the count covers all of them


class MoveDependentsForm(forms.Form):
    reason = forms.CharField(
        required=False,
        max_length=REASON_MAX_LENGTH,
        label="Reason",
        help_text='Kept in the audit log. Left empty: "move dependents of <model> to <successor>".',
    )


def move_dependents_url(model: AIModel) -> str:
    return reverse("admin:models_registry_aimodel_move_dependents", args=[model.pk])


def move_dependents_offer(model_admin, request, model: AIModel | None) -> dict | None:
    """What the change page's button says ({"url", "count", "successor"}), or None when there is
    nothing to offer: no successor, no dependencies, or no right to change the model."""
    if model is None or model.successor_id is None or not model_admin.has_change_permission(request, model):
        return None
    count = ModelDependency.objects.filter(model=model).count()
    if not count:
        return None
    return {"url": move_dependents_url(model), "count": count, "successor": model.successor}


def move_dependents_view(model_admin, request, object_id):
    """GET: what would move where, and a reason field; POST (with the CSRF token): move them."""
    if not model_admin.has_change_permission(request):
        raise PermissionDenied
    model = model_admin.get_object(request, object_id)  # None for an unknown or malformed id
    if model is None:
        raise Http404(f"No model with id {object_id!r}.")
    if not model_admin.has_change_permission(request, model):
        raise PermissionDenied
    change_url = reverse("admin:models_registry_aimodel_change", args=[model.pk])
    form = MoveDependentsForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            moved = aimodel_move_dependents(model=model, actor=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            form.add_error(None, " ".join(error.messages))
        except TargetNotActiveError as error:
            form.add_error(None, str(error))
        else:
            successor = AIModel.objects.filter(pk=model.successor_id).values_list("name", flat=True).first()
            messages.success(request, f"Moved {moved} dependent(s) of {model.name} to {successor}.")
            return HttpResponseRedirect(change_url)
    successor = model.successor
    dependencies = ModelDependency.objects.filter(model=model).order_by("component_type", "component_id")
    problem = None
    if successor is None:
        problem = "This model has no successor: set one (Lifecycle) to move its dependents to it."
    elif successor.status != ModelStatus.ACTIVE:
        problem = f"Its successor {successor.name} is {successor.status}: dependents can only move to an active model."
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "object": model,
        "title": f"Move the dependents of {model.name}",
        "successor": successor,
        "problem": problem,
        "count": dependencies.count(),
        "dependencies": dependencies[:LISTED],
        "form": form,
        "change_url": change_url,
    }
    return TemplateResponse(request, "admin/models_registry/aimodel/move_dependents.html", context)
