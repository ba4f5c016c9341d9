"""The registry as it was at an instant (docs/contract.md §7 "Lifecycle", `as_of`), read from
the history tables: each object's newest historical row at or before the instant, unless
that row is its deletion. Set-based: a page of models is chosen by one statement over the
models' history (each candidate checked with one probe of its `(id, history_date,
history_id)` index), and only that page's rows, profiles, dependencies, successors and
reference slugs are read after it.

What is as of the instant: every field of a model, its aliases, its industry profiles (and
their industries' slugs), its provider's slug, its successor's name and its dependency
count. What is not: ordering by provider sorts by the provider's slug as it is now (a
provider renamed since sorts under its new slug). A provider or industry whose history
begins after the instant without a creation (the starter industries, made by a migration)
is read as it is now.
"""

import datetime
from collections import defaultdict

import orjson
from django import forms
from django.db.models import Count, Exists, Model, OuterRef, Q, QuerySet
from django.db.models.lookups import Exact
from django.utils import timezone

from audit.filtersets import UTCDateTimeField, UTCDateTimeFilter
from audit.models import AuditEntry
from audit.retention import RETENTION_OBJECT_TYPE
from models_registry.api.representation import JSON_COLUMNS, PRICE_COLUMNS, ROW_FIELDS, json_text, stored_integer
from models_registry.choices import Capability
from models_registry.filtersets import SEARCH_SEPARATOR, AIModelFilterSet, SlugsFilter, json_has_token
from models_registry.folding import fold
from models_registry.models import AIModel, Industry, ModelDependency, ModelIndustryProfile, Provider
from models_registry.models.aimodels import NameKey, is_name
from models_registry.models.fields import FoldedTextField

HistoricalAIModel = AIModel.history.model
# The fields of AIModel.search_text, which its history does not keep (it is derived).
SEARCHED_FIELDS = AIModel._meta.get_field("search_text").sources


def latest_rows(history_model: type[Model], at: datetime.datetime) -> QuerySet:
    """Each object's newest historical row at or before `at` (the later row of two at the
    same instant is the one written last), unless that row is its deletion."""
    rows = history_model._base_manager
    newer = rows.filter(id=OuterRef("id"), history_date__lte=at).filter(
        Q(history_date__gt=OuterRef("history_date"))
        | Q(history_date=OuterRef("history_date"), history_id__gt=OuterRef("history_id"))
    )
    return rows.filter(history_date__lte=at).exclude(history_type="-").filter(~Exists(newer)).order_by()


def references_as_of(model: type[Model], at: datetime.datetime) -> dict[int, tuple[str, str]]:
    """{id: (slug, name)} of every provider or industry as of `at`. One whose history has no
    creation (made by a migration) and no row by then is taken as it is now."""
    history = model.history.model
    found = {pk: (slug, name) for pk, slug, name in latest_rows(history, at).values_list("id", "slug", "name")}
    rows = history._base_manager
    unrecorded = model._base_manager.exclude(pk__in=rows.filter(history_type="+").values("id")).exclude(
        pk__in=rows.filter(history_date__lte=at).values("id")
    )
    return found | {pk: (slug, name) for pk, slug, name in unrecorded.values_list("pk", "slug", "name")}


def slug_ids(model: type[Model], at: datetime.datetime, slugs) -> list[int]:
    return [pk for pk, (slug, _) in references_as_of(model, at).items() if slug in slugs]


def pruned_before() -> datetime.datetime | None:
    """The latest cutoff of any retention run (`prune_history`, whose entry names it): the
    registry before it cannot be told from what is kept."""
    cutoffs = [
        datetime.datetime.fromisoformat(cutoff)
        for cutoff in AuditEntry.objects.filter(object_type=RETENTION_OBJECT_TYPE).values_list("object_id", flat=True)
    ]
    # (an entry written with a naive cutoff meant UTC, as the command reads one)
    return max((c if c.tzinfo else c.replace(tzinfo=datetime.UTC) for c in cutoffs), default=None)


class AsOfField(UTCDateTimeField):
    """An instant in the past, as ISO 8601 (without an offset: UTC, as `updated_since`), no
    earlier than what retention kept."""

    def validate(self, value):
        super().validate(value)
        if value is None:
            return
        if value > timezone.now():
            raise forms.ValidationError("The registry is known up to now: give an instant that is not in the future.")
        cutoff = pruned_before()
        if cutoff is not None and value < cutoff:
            raise forms.ValidationError(f"History before {cutoff.isoformat()} was pruned: give a later instant.")


def as_of_instant(raw: str) -> datetime.datetime:
    """`raw` as an `as_of` instant; forms.ValidationError otherwise."""
    return AsOfField().clean(raw)


class AsOfFilter(UTCDateTimeFilter):
    field_class = AsOfField


class AsOfFilterSet(AIModelFilterSet):
    """The live list's filters and ordering (AIModelFilterSet), over the models' history as of
    `as_of`: each filter that reads a relation reads it as of then too."""

    as_of = AsOfFilter(method="as_of_instant", required=True, help_text="The registry as it was at this instant.")
    provider = SlugsFilter(method="filter_provider", help_text="Any of these provider slugs (as of then).")

    class Meta:
        model = HistoricalAIModel
        fields = []

    def filter_queryset(self, queryset):
        self.at = self.form.cleaned_data["as_of"]
        return super().filter_queryset(latest_rows(queryset.model, self.at))

    def as_of_instant(self, queryset: QuerySet, name, value):
        return queryset  # applied first, by filter_queryset

    def filter_provider(self, queryset: QuerySet, name, values):
        if not values:
            return queryset
        return queryset.filter(provider_id__in=slug_ids(Provider, self.at, values))

    def filter_name(self, queryset: QuerySet, name, value):
        if not is_name(value):
            return queryset.none()
        return queryset.filter(Q(Exact(NameKey("name"), fold(value))) | json_has_token("aliases", value))

    def filter_industry(self, queryset: QuerySet, name, values):
        if not values:
            return queryset
        profiles = latest_rows(ModelIndustryProfile.history.model, self.at)
        enabled = profiles.filter(
            model_id=OuterRef("id"), enabled=True, industry_id__in=slug_ids(Industry, self.at, values)
        )
        return queryset.filter(Exists(enabled))

    def filter_has_dependencies(self, queryset: QuerySet, name, value):
        if value is None:
            return queryset
        used = Exists(latest_rows(ModelDependency.history.model, self.at).filter(model_id=OuterRef("id")))
        return queryset.filter(used if value else ~used)

    def filter_search(self, queryset: QuerySet, name, value):
        """As the live list searches (`filtersets.search`), with the folding done here: the
        history keeps no folded text, so the candidates' texts are folded as they are read."""
        text = fold(value).strip()
        if not text:
            return queryset
        if SEARCH_SEPARATOR in text:
            return queryset.none()
        providers = [
            pk for pk, texts in references_as_of(Provider, self.at).items() if any(text in fold(t) for t in texts)
        ]
        matches = Q(provider_id__in=providers) if providers else Q(pk__in=[])
        for capability in (c for c in Capability.values if text in c):
            matches |= json_has_token("capabilities", capability)
        found = [
            pk
            for pk, *texts in queryset.exclude(matches).values_list("pk", *SEARCHED_FIELDS).iterator(chunk_size=5000)
            if text in FoldedTextField.fold_values(texts)
        ]
        return queryset.filter(matches | Q(pk__in=found))


# A page's model rows, by history id, in the shape of the live list's (representation.ROWS);
# the relations' columns are filled in by `rows_as_of`.
RELATED_COLUMNS = {"provider__slug", "successor__name", "dependency_count"}
HISTORY_ROWS = HistoricalAIModel._base_manager.order_by().values(
    "history_id",
    "provider_id",
    "successor_id",
    *(field for field in ROW_FIELDS if field not in RELATED_COLUMNS),
    **{f"{column}_json": json_text(column) for column in JSON_COLUMNS},
    **{f"{column}_stored": stored_integer(column) for column in PRICE_COLUMNS},
)


def rows_as_of(history_ids: list[int], at: datetime.datetime) -> list[dict]:
    """The API rows (`representation.represent` takes them) of these historical rows of
    models, in order, with what they show of other objects as of `at`."""
    if not history_ids:
        return []
    found = {row["history_id"]: row for row in HISTORY_ROWS.filter(history_id__in=history_ids)}
    rows = [found[pk] for pk in history_ids if pk in found]
    ids = [row["id"] for row in rows]
    providers = references_as_of(Provider, at)
    successors = dict(
        latest_rows(HistoricalAIModel, at)
        .filter(id__in={row["successor_id"] for row in rows if row["successor_id"] is not None})
        .values_list("id", "name")
    )
    dependencies = dict(
        latest_rows(ModelDependency.history.model, at)
        .filter(model_id__in=ids)
        .values("model_id")
        .annotate(n=Count("history_id"))
        .values_list("model_id", "n")
    )
    industries = references_as_of(Industry, at)
    profiles = defaultdict(list)
    profile_rows = latest_rows(ModelIndustryProfile.history.model, at).filter(model_id__in=ids)
    for model_id, industry_id, enabled, settings in profile_rows.values_list(
        "model_id", "industry_id", "enabled", "settings"
    ):
        slug = industries.get(industry_id, ("", ""))[0]
        profiles[model_id].append({"industry": slug, "enabled": enabled, "settings": settings})
    for row in rows:
        row["provider__slug"] = providers.get(row["provider_id"], (None, None))[0]
        row["successor__name"] = successors.get(row["successor_id"])
        row["dependency_count"] = dependencies.get(row["id"], 0)
        row["industries_json"] = orjson.dumps(sorted(profiles[row["id"]], key=lambda p: p["industry"]))
    return rows


def model_as_of(pk: int, at: datetime.datetime) -> dict | None:
    """One model's API row as of `at`; None when it did not exist then."""
    history_id = latest_rows(HistoricalAIModel, at).filter(id=pk).values_list("history_id", flat=True).first()
    return rows_as_of([history_id], at)[0] if history_id is not None else None
