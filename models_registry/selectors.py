"""Non-trivial reads of the registry."""

import datetime
import hashlib
import logging
from collections import defaultdict
from dataclasses import asdict, dataclass

import orjson
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count, ForeignObjectRel, Max, Q, QuerySet
from django.http import QueryDict
from django.utils import timezone

from audit.events import MODEL_OBJECT_TYPE
from audit.feed import FeedFilter
from audit.models import AuditEntry
from common import estimates
from llm_admin.api import streaming
from llm_admin.cache import cache_lookup
from models_registry.choices import ModelStatus
from models_registry.filtersets import AIModelFilterSet
from models_registry.folding import fold
from models_registry.models import AIModel, CatalogVersion, ModelDependency, Provider, RegisteredName
from models_registry.models.aimodels import is_name


@dataclass(frozen=True)
class Dependent:
    """Something that uses a model and so keeps it from being deleted."""

    component_type: str
    component_id: str
    component_name: str
    id: int | None = None  # the ModelDependency's id, when it is one

    def as_dict(self) -> dict:
        return asdict(self)


def catalog_version() -> int:
    """The version that moves inside every registry-changing transaction (services.catalog)."""
    return CatalogVersion.objects.filter(pk=1).values_list("version", flat=True).first() or 0


def blocking_relations() -> list[ForeignObjectRel]:
    """Every relation to AIModel, from any app, except the model's own parts.

    Discovered from the model registry rather than listed, so a table another app adds
    with a foreign key to AIModel protects the models it points at automatically.
    """
    return [
        relation
        for relation in AIModel._meta.related_objects
        if relation.get_accessor_name() not in AIModel.OWNED_RELATIONS and not relation.many_to_many
    ]


def _describe(relation: ForeignObjectRel, row) -> Dependent:
    if isinstance(row, ModelDependency):
        return Dependent(row.component_type, row.component_id, row.component_name, id=row.pk)
    return Dependent(
        component_type=f"{relation.related_model._meta.model_name}.{relation.field.name}",
        component_id=str(row.pk),
        component_name=str(row),
    )


def dependents_of(model_ids) -> dict[int, list[Dependent]]:
    """{model id: its dependents} for the given models, one query per relation."""
    found: dict[int, list[Dependent]] = defaultdict(list)
    for relation in blocking_relations():
        field = relation.field
        rows = relation.related_model._base_manager.filter(**{f"{field.name}__in": list(model_ids)}).order_by("pk")
        for row in rows:
            found[getattr(row, field.attname)].append(_describe(relation, row))
    return dict(found)


def aimodel_seen_entry(model_id: int) -> int:
    """The newest audit entry of a model and its parts (0 if none): what someone who loads it
    now has seen."""
    return AuditEntry.of_object(AIModel, model_id).aggregate(newest=Max("pk"))["newest"] or 0


def aimodel_changes_since(model: AIModel, loaded_version: int, seen_entry: int | None = None) -> list[AuditEntry]:
    """What others changed on `model` and its parts (profiles) after someone loaded it, oldest
    first: the entries newer than `seen_entry` (`aimodel_seen_entry` when they loaded it), or,
    without it, those after the model's history row of `loaded_version`."""
    entries = AuditEntry.of_object(AIModel, model.pk)
    if seen_entry is not None:
        entries = entries.filter(pk__gt=seen_entry)
    else:
        history = model.history.filter(version__lte=loaded_version).order_by("-version", "-history_date").first()
        if history is not None:
            entries = entries.filter(timestamp__gt=history.history_date)
    return list(entries.order_by("timestamp", "id"))


def utc_today() -> datetime.date:
    """Today in UTC: the day sunset dates are compared with, whatever TIME_ZONE says."""
    return timezone.now().astimezone(datetime.UTC).date()


def before_sunset(queryset: QuerySet, *, today: datetime.date | None = None, path: str = "") -> QuerySet:
    """`queryset` without the models whose sunset date has come (on or before `today`, by
    default today in UTC): from that day they are gone from /v1/models and the selection list
    (docs/contract.md §7). `path` leads from the queryset's model to AIModel ("model__" from
    a registered name)."""
    return queryset.exclude(**{f"{path}sunset_date__lte": today or utc_today()})


def aimodel_filter(params, queryset: QuerySet | None = None) -> QuerySet:
    """The models that `params` (API-style filter parameters) select; ValidationError
    naming each bad parameter otherwise."""
    filterset = AIModelFilterSet(params, queryset=queryset if queryset is not None else AIModel.objects.all())
    if not filterset.is_valid():
        raise ValidationError({name: [str(e) for e in errors] for name, errors in filterset.errors.items()})
    return filterset.qs


def aimodels_by_name(names: list[str]) -> dict[str, AIModel]:
    """{lowered name: model} for the given names and aliases that exist (case-insensitive)."""
    lowered = {fold(name) for name in names if is_name(name)}  # no other can be one
    claims = RegisteredName.objects.filter(name__in=lowered).select_related("model__provider")
    return {claim.name: claim.model for claim in claims}


def aimodel_by_reference(value: int | str) -> AIModel | None:
    """The model an API body names by its id (a number) or its name or an alias (text)."""
    if isinstance(value, int):
        return AIModel.objects.filter(pk=value).first() if 0 < value < 2**63 else None
    return aimodels_by_name([value]).get(fold(value)) if is_name(value) else None


def aimodel_id_in_feed(value: str) -> int | None:
    """The model the change feed's `model=` names: an id (of a model that exists, or that
    the audit log knows, so a follower keeps its filter after the model is deleted), else a
    current name or alias, in any case. None if it names none."""
    if value.isascii() and value.isdigit() and len(value) <= 18:
        pk = int(value)
        if (
            AIModel.objects.filter(pk=pk).exists()
            or AuditEntry.objects.filter(object_type=MODEL_OBJECT_TYPE, object_id=str(pk)).exists()
        ):
            return pk
    model = aimodels_by_name([value]).get(fold(value)) if is_name(value) else None
    return model.pk if model is not None else None


def dependencies_of_component(component: str) -> QuerySet:
    """The model ids a component has registered as dependencies, the component named by its
    `component_name` (what docs/contract.md §7 says) or its `component_id` (what a service
    surely knows about itself: names may be blank or change). Read from the component
    indexes alone."""
    rows = ModelDependency.objects.filter(Q(component_name=component) | Q(component_id=component))
    return rows.values_list("model_id", flat=True)


def models_depended_on_by(component: str) -> set[int]:
    """The ids of the models a component depends on (see dependencies_of_component)."""
    return set(dependencies_of_component(component))


def change_feed_filter(
    *, types: list[str] = (), model: str | None = None, provider: str | None = None, dependent: str | None = None
) -> FeedFilter:
    """The change feed's filters (docs/contract.md §7) resolved against the registry: a
    ValidationError naming each parameter that names nothing."""
    errors, model_ids, provider_id = {}, None, None
    if model is not None:
        pk = aimodel_id_in_feed(model)
        if pk is None:
            errors["model"] = ["No model has this id, name or alias."]
        else:
            model_ids = {pk}
    if provider is not None:
        provider_id = Provider.objects.filter(slug=provider).values_list("pk", flat=True).first()
        if provider_id is None:
            errors["provider"] = ["No provider has this slug."]
    if dependent is not None:
        depended_on = models_depended_on_by(dependent)
        if not depended_on:
            errors["dependent"] = ["No component of this name (or id) has registered a dependency."]
        model_ids = depended_on if model_ids is None else model_ids & depended_on
    if errors:
        raise ValidationError(errors)
    return FeedFilter(
        types=tuple(dict.fromkeys(types)),
        model_ids=frozenset(model_ids) if model_ids is not None else None,
        provider_id=provider_id,
    )


OPTION_FILTERS = ("model_type", "industry", "capability", "search")
# An option's keys, and the columns they are read from.
OPTION_COLUMNS = {
    "id": "id",
    "name": "name",
    "display_name": "display_name",
    "provider": "provider__slug",
    "model_type": "model_type",
}
OPTIONS_LIMIT_MAX = 1000
OPTIONS_CACHE_SECONDS = 24 * 60 * 60  # keys carry the catalog version, so they never go stale
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OptionsQuery:
    """One selection list: the active models the list's filters and search select, by
    provider then name, less those whose sunset date has come (on or before `today`, UTC),
    at most `limit` of them (None: all)."""

    filters: QueryDict
    limit: int | None = None
    today: datetime.date | None = None

    @classmethod
    def of(cls, params, *, limit: int | None = None) -> "OptionsQuery":
        """The query `params` ask for; ValidationError naming each bad parameter (checked
        without a query: the ETag comes before any read of the models)."""
        filters = QueryDict(mutable=True)
        for name in OPTION_FILTERS:
            filters.setlist(name, params.getlist(name))
        form = AIModelFilterSet(filters, queryset=AIModel.objects.none()).form
        if not form.is_valid():
            raise ValidationError({name: [str(e) for e in errors] for name, errors in form.errors.items()})
        return cls(filters, limit, utc_today())

    def key(self) -> str:
        """What the list depends on besides the catalog, unambiguously (a search may hold `&`):
        the day too, since a model leaves the list on its sunset date, a change that no write
        makes and so no catalog version marks."""
        parts = [[name, sorted(self.filters.getlist(name))] for name in OPTION_FILTERS]
        return hashlib.sha256(orjson.dumps([parts, self.limit, str(self.today)])).hexdigest()[:24]

    def rows(self) -> QuerySet:
        active = before_sunset(AIModel.objects.filter(status=ModelStatus.ACTIVE), today=self.today)
        models = aimodel_filter(self.filters, active).order_by("provider__slug", "name")
        return models.values_list(*OPTION_COLUMNS.values())


def option(row: tuple) -> dict:
    return dict(zip(OPTION_COLUMNS, row, strict=True))


def aimodel_options_version(query: OptionsQuery) -> str:
    """The catalog version and the query: what the list, its cache key and its ETag depend on.
    One query, with no read of the models: an `If-None-Match` that matches costs no more."""
    return f"{catalog_version()}-{query.key()}"


def aimodel_options(query: OptionsQuery, version: str | None = None) -> list[dict] | streaming.Rows:
    """The selection list (`version` is `aimodel_options_version(query)`, read first).

    A list that stays small (a `limit`, or fewer rows than one chunk of a server-side cursor)
    is served from the shared cache, under a key that includes the catalog version, which
    moves in the same transaction as any registry change: a reader that sees the new data
    also sees the new version, so a cached list is never stale. If the cache is down, it comes
    from the database. A larger one is not cached (a million models are a hundred megabytes
    per filter, and unpickled whole by every reader): it comes from the database a chunk of
    rows at a time (`Rows`, of options), for the caller to stream and close.
    """
    key = f"aimodel-options:{version or aimodel_options_version(query)}"
    try:
        options = cache.get(key)
    except Exception:  # the cache is an optimisation: any failure falls back to the database
        logger.warning("cache unavailable; serving model options from the database", exc_info=True)
        cache_lookup("model_options", "unavailable")
        options = None
    else:
        cache_lookup("model_options", "miss" if options is None else "hit")
    if options is not None:
        return options
    if query.limit is not None:
        options = [option(row) for row in query.rows()[: query.limit]]
    else:
        rows = streaming.Rows.of(query.rows(), item=option)
        if not rows.complete:
            return rows
        options = list(rows)
    try:
        cache.set(key, options, OPTIONS_CACHE_SECONDS)
    except Exception:
        logger.warning("cache unavailable; model options not cached", exc_info=True)
    return options


DEPRECATION_WINDOW_DAYS = 90


def dashboard_summary() -> dict:
    """What the admin's front page shows. A catalog too large to count on every view is
    summed up from PostgreSQL's statistics (estimates, which the page says are "about"),
    so that no write makes the next viewer wait for a scan; a smaller one is counted
    exactly, cached per catalog version (so never stale)."""
    today = timezone.localdate()
    estimated = _estimated_counts()
    if estimated is not None:
        return {**estimated, "deprecations": _deprecations(today), "today": today, "estimated": True}
    key = f"dashboard:{catalog_version()}"
    try:
        summary = cache.get(key)
    except Exception:
        cache_lookup("dashboard", "unavailable")
        summary = None
    else:
        cache_lookup("dashboard", "miss" if summary is None else "hit")
    if summary is not None:
        return summary

    def counts(field, key=None):
        """[(label, count, the list filter's value)] by count, largest first."""
        key = key or field
        rows = AIModel.objects.order_by().values(field, key).annotate(n=Count("pk")).order_by("-n", field)
        return [(row[field], row["n"], row[key]) for row in rows]

    summary = {
        "total": AIModel.objects.count(),
        "by_status": counts("status"),
        "by_type": counts("model_type"),
        "by_provider": counts("provider__slug")[:12],
        "deprecations": _deprecations(today),
        "today": today,
        "estimated": False,
    }
    try:
        cache.set(key, summary, OPTIONS_CACHE_SECONDS)
    except Exception:
        logger.warning("cache unavailable; dashboard not cached", exc_info=True)
    return summary


def _estimated_counts() -> dict | None:
    """The dashboard's counts from PostgreSQL's statistics, when the catalog is too large to
    count (EXACT_COUNT_LIMIT); None to count exactly. Values too rare for ANALYZE to sample
    are left out of the breakdowns."""
    if connection.vendor != "postgresql":
        return None
    total = estimates.table_rows(AIModel)
    if total is None or total <= estimates.EXACT_COUNT_LIMIT:
        return None
    frequent = {name: estimates.common_values(AIModel, name) for name in ("status", "model_type", "provider")}
    if None in frequent.values():
        return None
    providers = Provider.objects.in_bulk([int(pk) for pk in frequent["provider"]])

    def ranked(rows):
        return sorted(rows, key=lambda row: (-row[1], row[0]))

    return {
        "total": total,
        "by_status": ranked((value, n, value) for value, n in frequent["status"].items()),
        "by_type": ranked((value, n, value) for value, n in frequent["model_type"].items()),
        "by_provider": ranked(
            (providers[int(pk)].slug, n, providers[int(pk)].slug)
            for pk, n in frequent["provider"].items()
            if int(pk) in providers
        )[:12],
    }


def upcoming_deprecations(today: datetime.date) -> QuerySet:
    """Models deprecated, or to be within DEPRECATION_WINDOW_DAYS, that are not switched off
    yet: the soonest first (read in order from the aimodel_deprecation_date index)."""
    soon = today + datetime.timedelta(days=DEPRECATION_WINDOW_DAYS)
    return (
        AIModel.objects.filter(deprecation_date__isnull=False, deprecation_date__lte=soon)
        .exclude(status=ModelStatus.INACTIVE)
        .order_by("deprecation_date", "name")
    )


def _deprecations(today: datetime.date) -> list[dict]:
    fields = ("id", "name", "status", "deprecation_date", "successor__name")
    return list(upcoming_deprecations(today).values(*fields)[:15])
