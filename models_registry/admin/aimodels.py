"""The model list and form staff live in. Every write goes through the services."""

import io
import tempfile

import orjson
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from accounts.reauthentication import ReauthenticatedDeleteMixin
from accounts.views import reauthentication_redirect
from audit.changelists import GuardedChangeListMixin, filtered_queryset
from audit.models import AuditEntry
from common.decimals import decimal_text
from common.paginators import EstimatedCountPaginator
from models_registry.admin.drift import CHANGE_RIGHT, drift_accept, drift_upload
from models_registry.admin.filters import (
    CapabilityFilter,
    DeprecationWindowFilter,
    HasDependenciesFilter,
    IndustryFilter,
    ModelTypeFilter,
    ProviderFilter,
    StatusFilter,
    filtered,
)
from models_registry.admin.forms import AIModelForm, IndustryProfileFormSet, industry_setting_names, profile_form_for
from models_registry.admin.imports import import_confirm, import_upload
from models_registry.admin.retiring import move_dependents_offer, move_dependents_view
from models_registry.admin.revert import REVERT_RIGHT, revert_entry_view, revert_request_view
from models_registry.api.representation import represent
from models_registry.as_of import model_as_of
from models_registry.choices import BulkAction
from models_registry.exporting import EXPORT_FORMATS, WRITERS
from models_registry.folding import fold
from models_registry.limits import PROFILES_MAX_COUNT
from models_registry.models import AIModel, Industry, ModelDependency, ModelIndustryProfile
from models_registry.models.aimodels import NAME_MAX_LENGTH, NAME_VALIDATOR
from models_registry.querysets import dependency_counts, with_dependency_count
from models_registry.services import (
    HasDependenciesError,
    aimodel_bulk_apply,
    aimodel_create,
    aimodel_delete,
    aimodel_update,
)
from models_registry.services.aimodels import editable_field_names


class AIModelChangeList(ChangeList):
    """The model list, each row of the page with its dependency count. The count is a
    subquery per row: it is in the list's query only when the list is sorted by it;
    otherwise the page's own rows are counted in one query once the page is read, so that
    a deep page does not count them for every row its OFFSET skips."""

    def get_queryset(self, request, exclude_parameters=None):
        columns = self.get_ordering_field_columns()  # {position in list_display: "asc"|"desc"}, unchecked
        if any(0 <= position < len(self.list_display) and self.list_display[position] == "dependency_total"
               for position in columns):  # fmt: skip
            self.root_queryset = with_dependency_count(self.root_queryset)
        return super().get_queryset(request, exclude_parameters)

    def get_ordering(self, request, queryset):
        """Django breaks ties by `-pk` whatever the sort; here the id goes the way of the key
        before it, as the list's (column, id) indexes run (forwards or backwards), so a page
        is read from an index instead of sorting the whole table (SQLite cannot mix the
        directions; PostgreSQL adds a sort step)."""
        ordering = super().get_ordering(request, queryset)
        if len(ordering) > 1 and ordering[-1] == "-pk" and not descending(ordering[-2]):
            ordering[-1] = "pk"
        return ordering

    def get_results(self, request):
        super().get_results(request)
        page = list(self.result_list)
        uncounted = [model.pk for model in page if not hasattr(model, "dependency_count")]
        if uncounted:
            counts = dependency_counts(uncounted)
            for model in page:
                model.dependency_count = counts.get(model.pk, 0)
        self.result_list = page


def descending(key) -> bool:
    """Whether an ordering key (text as "-name", or an expression) sorts from high to low."""
    return key.startswith("-") if isinstance(key, str) else getattr(key, "descending", False)


RESULT_ROWS = 1000  # models listed on a bulk result page; the totals cover all of them
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class ChangedSinceValidation(Exception):
    """The service refused a save the form had passed: between the form's validation and the
    write, another save took one of its names (or changed a model it refers to) and committed."""


class IndustryProfileInline(admin.StackedInline):
    model = ModelIndustryProfile
    formset = IndustryProfileFormSet
    extra = 0
    classes = ["llm-profiles"]

    def get_formset(self, request, obj=None, **kwargs):
        kwargs["form"] = profile_form_for(list(Industry.objects.all()))
        kwargs |= {"max_num": PROFILES_MAX_COUNT, "validate_max": True}
        return super().get_formset(request, obj, **kwargs)


class DependencyInline(admin.TabularInline):
    model = ModelDependency
    extra = 0
    can_delete = False
    fields = ["component_link", "component_name", "owner", "registered_at", "registered_by"]
    readonly_fields = fields
    verbose_name_plural = "dependencies (components using this model; registered through the API)"

    @admin.display(description="component")
    def component_link(self, dependency):
        url = reverse("admin:models_registry_modeldependency_change", args=[dependency.pk])
        return format_html('<a href="{}">{}:{}</a>', url, dependency.component_type, dependency.component_id)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def bulk_action(action: BulkAction, description: str):
    """An admin action over the selected models that ends on a page of per-model results."""

    def run(model_admin, request, queryset):
        if action == BulkAction.DELETE:
            if not request.user.has_perm("models_registry.delete_aimodel"):
                raise PermissionDenied
            redirect = reauthentication_redirect(request)
            if redirect is not None:
                return redirect
        names = dict(queryset.values_list("pk", "name"))
        result = aimodel_bulk_apply(action=action, ids=list(names), actor=request.user)
        rows = [(item, names.get(item.id, f"#{item.id}")) for item in result.results[:RESULT_ROWS]]
        context = {
            **model_admin.admin_site.each_context(request),
            "opts": model_admin.opts,
            "title": f"{description}: results",
            "result": result,
            "rows": rows,
            "more_rows": max(0, len(result.results) - RESULT_ROWS),
            "deleted": action == BulkAction.DELETE,
        }
        return TemplateResponse(request, "admin/llm/bulk_result.html", context)

    run.__name__ = f"bulk_{action}"
    return admin.action(description=description, permissions=["bulk"])(run)


def export_action(fmt: str):
    def run(model_admin, request, queryset):
        return export_response(queryset, fmt)

    run.__name__ = f"export_{fmt}"
    return admin.action(description=f"Export selected models as {fmt.upper()}", permissions=["view"])(run)


def export_response(queryset, fmt: str) -> FileResponse:
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024, mode="w+b")  # noqa: SIM115 (FileResponse closes it)
    if fmt == "xlsx":
        WRITERS[fmt](queryset, spool)
    else:
        text = io.TextIOWrapper(spool, encoding="utf-8", newline="", write_through=True)
        WRITERS[fmt](queryset, text)
        text.detach()
    spool.seek(0)
    response = FileResponse(spool, content_type=CONTENT_TYPES[fmt], as_attachment=True, filename=f"models.{fmt}")
    return response


@admin.register(AIModel)
class AIModelAdmin(GuardedChangeListMixin, ReauthenticatedDeleteMixin, admin.ModelAdmin):
    form = AIModelForm
    change_list_template = "admin/models_registry/aimodel/change_list.html"
    change_form_template = "admin/models_registry/aimodel/change_form.html"
    list_display = [
        "name", "display_name", "provider", "model_type", "status_badge", "context_window", "input_price",
        "output_price", "dependency_total", "last_change",
    ]  # fmt: skip
    list_filter = [
        ProviderFilter, ModelTypeFilter, StatusFilter, IndustryFilter, CapabilityFilter, HasDependenciesFilter,
        DeprecationWindowFilter,
    ]  # fmt: skip
    list_select_related = ["provider"]
    list_per_page = 50
    search_fields = ["search_text"]  # shows the search box; get_search_results does the searching
    search_help_text = "Name, display name, aliases, provider, capabilities or description."
    autocomplete_fields = ["provider", "successor"]
    inlines = [IndustryProfileInline, DependencyInline]
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    actions = [
        bulk_action(BulkAction.ACTIVATE, "Activate selected models"),
        bulk_action(BulkAction.DEACTIVATE, "Deactivate selected models"),
        bulk_action(BulkAction.DEPRECATE, "Deprecate selected models"),
        bulk_action(BulkAction.DELETE, "Delete selected models"),
        *[export_action(fmt) for fmt in EXPORT_FORMATS],
    ]
    fieldsets = [
        (None, {"fields": ["name", "display_name", "provider", "model_type", "status", "description"]}),
        ("Capabilities and limits", {"fields": ["capabilities", ("context_window", "max_output_tokens")]}),
        (
            "Prices per million tokens",
            {"fields": [("input_cost_per_million_tokens", "output_cost_per_million_tokens")]},
        ),
        ("Lifecycle", {"fields": [("deprecation_date", "sunset_date"), "successor", "aliases"]}),
        ("Metadata", {"classes": ["collapse"], "fields": ["metadata"]}),
        ("Audit", {"fields": ["change_reason", "loaded_version", "seen_entry"]}),
    ]

    # The list

    def get_changelist(self, request, **kwargs):
        return AIModelChangeList

    def get_search_results(self, request, queryset, search_term):
        """The box is the API's `search=`, through the same filter: the whole text, as typed."""
        return filtered(queryset, "search", [search_term]), False

    def has_bulk_permission(self, request):
        return request.user.has_perm("models_registry.bulk_aimodel")

    @admin.display(description="status", ordering="status")
    def status_badge(self, model):
        return format_html('<span class="llm-badge llm-status-{}">{}</span>', model.status, model.get_status_display())

    @admin.display(description="input $/M", ordering="input_cost_per_million_tokens")
    def input_price(self, model):
        return _price(model.input_cost_per_million_tokens)

    @admin.display(description="output $/M", ordering="output_cost_per_million_tokens")
    def output_price(self, model):
        return _price(model.output_cost_per_million_tokens)

    # (Not named "dependencies": that is the model's relation, which the list would sort by,
    # a row per dependency.)
    @admin.display(description="dependencies", ordering="dependency_count")
    def dependency_total(self, model):
        return model.dependency_count  # (annotated, or set by AIModelChangeList)

    @admin.display(description="last change", ordering="updated_at")
    def last_change(self, model):
        return format_html(
            "{}<br><span class='quiet'>{}</span>", model.updated_at.strftime("%Y-%m-%d %H:%M"), model.updated_by or "—"
        )

    # Extra pages

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("check-name/", wrap(self.check_name), name="models_registry_aimodel_check_name"),
            path("import/", wrap(lambda request: import_upload(self, request)), name="models_registry_aimodel_import"),
            path(
                "import/confirm/",
                wrap(lambda request: import_confirm(self, request)),
                name="models_registry_aimodel_import_confirm",
            ),
            path("drift/", wrap(lambda request: drift_upload(self, request)), name="models_registry_aimodel_drift"),
            path(
                "drift/accept/",
                wrap(lambda request: drift_accept(self, request)),
                name="models_registry_aimodel_drift_accept",
            ),
            path("export/", wrap(self.export_filtered), name="models_registry_aimodel_export"),
            path(
                "revert/entry/<int:entry_id>/",
                wrap(lambda request, entry_id: revert_entry_view(self, request, entry_id)),
                name="models_registry_aimodel_revert_entry",
            ),
            path(
                "revert/request/<str:request_id>/",
                wrap(lambda request, request_id: revert_request_view(self, request, request_id)),
                name="models_registry_aimodel_revert_request",
            ),
            path(
                "<path:object_id>/move-dependents/",
                wrap(lambda request, object_id: move_dependents_view(self, request, object_id)),
                name="models_registry_aimodel_move_dependents",
            ),
            path(
                "<path:object_id>/history/<int:entry_id>/as-of/",
                wrap(self.as_of_view),
                name="models_registry_aimodel_as_of",
            ),
            *super().get_urls(),
        ]

    def check_name(self, request):
        """The name as typed: bad characters, or already a name or alias of another model."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        name = request.GET.get("name", "")
        model_id = request.GET.get("id", "")
        try:
            NAME_VALIDATOR(name)
            if len(name) > NAME_MAX_LENGTH:
                raise ValidationError(f"At most {NAME_MAX_LENGTH} characters.")
        except ValidationError as error:
            return JsonResponse({"ok": False, "message": " ".join(error.messages) if name else "Enter a name."})
        probe = AIModel(name=name, pk=int(model_id) if model_id.isdigit() else None)
        owner = probe.name_owners([fold(name)]).get(fold(name))
        if owner is not None:
            return JsonResponse({"ok": False, "message": f"Already taken by {owner}."})
        return JsonResponse({"ok": True, "message": "Available."})

    def export_filtered(self, request):
        """The list as it is filtered on screen, as CSV, JSON or XLSX."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        request.GET = request.GET.copy()
        fmt = request.GET.pop("export_format", ["csv"])[0]
        if fmt not in EXPORT_FORMATS:
            fmt = "csv"
        queryset, refusal = filtered_queryset(self, request)  # `?format=csv` is refused as the list refuses it
        return refusal or export_response(queryset, fmt)

    def changelist_view(self, request, extra_context=None):
        context = {
            "can_import": request.user.has_perm("models_registry.import_aimodel"),
            "can_compare": request.user.has_perm(CHANGE_RIGHT),
            "can_revert": request.user.has_perm(REVERT_RIGHT),
            "export_formats": EXPORT_FORMATS,
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context=context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["industry_fields"] = {
            str(industry.pk): industry_setting_names(industry) for industry in Industry.objects.all()
        }
        context["move_dependents"] = move_dependents_offer(self, request, obj) if change else None
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _viewable(self, request, object_id) -> AIModel:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        model = self.get_object(request, object_id)  # None for an unknown or malformed id
        if model is None:
            raise Http404(f"No model with id {object_id!r}.")
        if not self.has_view_or_change_permission(request, model):
            raise PermissionDenied
        return model

    def history_view(self, request, object_id, extra_context=None):
        """Every change to the model: field diffs, who, when, through which door, why."""
        model = self._viewable(request, object_id)
        entries = AuditEntry.of_object(AIModel, model.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "object": model,
            "title": f"History: {model}",
            "entries": [(entry, sorted(entry.changes.items())) for entry in entries[:500]],
            "can_revert": request.user.has_perm(REVERT_RIGHT),
        }
        return TemplateResponse(request, "admin/models_registry/aimodel/history.html", context)

    def as_of_view(self, request, object_id, entry_id):
        """The model as it was once this entry (and any other made at the same instant) was
        written, read-only, as the API's `as_of` shows it (models_registry/as_of.py)."""
        model = self._viewable(request, object_id)
        entry = AuditEntry.of_object(AIModel, model.pk).filter(pk=entry_id).first()
        if entry is None:
            raise Http404(f"No entry {entry_id} in the history of {model}.")
        row = model_as_of(model.pk, entry.timestamp)
        shown = orjson.loads(orjson.dumps(represent([row])[0])) if row is not None else None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "object": model,
            "entry": entry,
            "title": f"{model} as of {entry.timestamp:%Y-%m-%d %H:%M:%S}",
            "fields": [(name, as_text(value)) for name, value in shown.items() if name != "url"] if shown else None,
        }
        return TemplateResponse(request, "admin/models_registry/aimodel/as_of.html", context)

    # Writes, through the services

    def save_model(self, request, obj, form, change):
        """Not here: Django passes this hook the model alone, and the service saves the model
        with its industry profiles in one call. save_related, called next with the form and
        every inline formset, makes that call."""

    def save_related(self, request, form, formsets, change):
        """The one save: the model and its industry profiles, through the service, in the
        transaction Django's change form opened, with one reason. Everything the service
        checks was checked while the form validated (the version under the row's lock, held
        since; the profiles as a whole), so Django showed any refusal on the form itself.
        Only what another save committed after that validation (a name it took, a model this
        one refers to) can still be refused here: see changeform_view."""
        obj, reason = form.instance, form.cleaned_data.get("change_reason", "")
        profiles = next(formset for formset in formsets if formset.model is ModelIndustryProfile)
        try:
            if not change:
                fields = {name: getattr(obj, name) for name in editable_field_names()}
                created = aimodel_create(actor=request.user, reason=reason, industries=profiles.wanted(), **fields)
                obj.pk, obj._state.adding, obj.version = created.pk, False, created.version
            else:
                aimodel_update(
                    model=obj,
                    actor=request.user,
                    reason=reason,
                    expected_version=form.cleaned_data.get("loaded_version"),  # passes: the lock is held
                    seen_entry=form.cleaned_data.get("seen_entry"),
                    industries=profiles.wanted(),
                    **{name: getattr(obj, name) for name in form.changed_data if name in editable_field_names()},
                )
        except ValidationError as refusal:
            raise ChangedSinceValidation(refusal.messages) from refusal
        for formset in formsets:  # what construct_change_message reads after a formset's save()
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """Django's change (or add) form. A save refused at write time (ChangedSinceValidation)
        left Django's transaction rolled back, nothing saved or logged; the form is then
        validated once more, which now sees what the other save committed (the name taken,
        on its field) and shows it, the person's entries kept, as Django shows any invalid form.
        Refused at write time again (another race, or a rule the form does not see), nothing is
        saved and the form opens afresh with the refusal as a message: never a server error."""
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ChangedSinceValidation:
            pass
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ChangedSinceValidation as refusal:
            self.message_user(request, f"Not saved: {' '.join(refusal.args[0])}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def delete_model(self, request, obj):
        try:
            aimodel_delete(model=obj, actor=request.user)
        except HasDependenciesError as error:
            self.message_user(request, str(error), messages.ERROR)

    def response_delete(self, request, obj_display, obj_id):
        if AIModel.objects.filter(pk=obj_id).exists():  # refused: it gained a dependency meanwhile
            return HttpResponseRedirect(reverse("admin:models_registry_aimodel_change", args=[obj_id]))
        return super().response_delete(request, obj_display, obj_id)


def _price(value):
    return decimal_text(value) if value is not None else "—"


def as_text(value) -> str:
    """A field of a model as of an entry, as the page shows it: JSON for lists and objects."""
    if value is None:
        return "—"
    if isinstance(value, list | dict):
        return orjson.dumps(value).decode()
    return str(value)
