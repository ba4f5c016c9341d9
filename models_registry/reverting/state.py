"""The registry as a revert plan sees it: the current values of the objects some audit
entries are about, read once for all of them (a constant number of queries, whatever their
number; locked when the plan is about to be applied), rendered as entries render them, and
over them what the steps planned so far leave."""

from dataclasses import dataclass, field
from functools import cached_property

from audit.choices import AuditAction
from audit.events import MODEL_OBJECT_TYPE
from audit.models import AuditEntry
from common.batches import batched
from models_registry.models import AIModel, Industry, ModelDependency, ModelIndustryProfile
from models_registry.reverting.values import REVERTIBLE, relations, rendered

PROFILE, DEPENDENCY = ModelIndustryProfile._meta.model_name, ModelDependency._meta.model_name


@dataclass
class ModelRestore:
    """What a deleted model comes back with: its last history row, and its profiles'."""

    record: object
    profiles: list = field(default_factory=list)  # history rows of its profiles deleted with it
    successor_gone: str = ""  # the name of a successor that no longer exists (left empty)


class RegistryNow:
    """The registry's current values of the objects some entries are about, read once,
    and over them what the steps planned so far leave (`set`)."""

    def __init__(self, entries: list[AuditEntry], *, lock: bool):
        self.lock = lock
        # Models a deletion of which is among the entries: they will exist once it is reverted.
        self.restoring = {
            entry.object_id
            for entry in entries
            if entry.object_type == MODEL_OBJECT_TYPE and entry.action == AuditAction.DELETE
        }
        self.objects: dict[tuple[str, str], object] = {}
        self.state: dict[tuple, dict | None] = {}
        self.profile_keys: dict[str, set[tuple]] = {}  # a model's id: its profiles' keys in `state`
        wanted: dict[str, set[str]] = {}
        for entry in entries:
            wanted.setdefault(entry.object_type, set()).add(entry.object_id)
            if entry.parent_type == MODEL_OBJECT_TYPE:
                wanted.setdefault(MODEL_OBJECT_TYPE, set()).add(entry.parent_id)
        for object_type in sorted(wanted, key=lambda name: name != MODEL_OBJECT_TYPE):  # models first: lock order
            if object_type != PROFILE:
                self._load(object_type, wanted[object_type])
        self._load_profiles(wanted.get(MODEL_OBJECT_TYPE, set()))
        self._restored_parts: dict[int, list[int]] = {}

    def _rows(self, model, queryset):
        queryset = queryset.select_related(*relations(model)).order_by("pk")
        return queryset.select_for_update(of=("self",)) if self.lock else queryset

    def _load(self, object_type: str, ids: set[str]) -> None:
        model = REVERTIBLE[object_type]
        keys = [int(pk) for pk in ids if pk.isdigit()]
        for chunk in batched(sorted(keys)):
            for obj in self._rows(model, model._base_manager.filter(pk__any=chunk)):
                self.objects[(object_type, str(obj.pk))] = obj
        for pk in ids:
            obj = self.objects.get((object_type, pk))
            self.state[(object_type, pk)] = rendered(obj) if obj is not None else None

    def _load_profiles(self, model_ids: set[str]) -> None:
        """Every profile of the models concerned (a profile entry's model among them): a
        profile is known by its model and industry, so one removed and added again is the
        same profile to a revert."""
        models = sorted({int(pk) for pk in model_ids if pk.isdigit()})
        for chunk in batched(models):
            for profile in self._rows(ModelIndustryProfile, ModelIndustryProfile.objects.filter(model_id__any=chunk)):
                self._add_profile(profile)

    def _add_profile(self, profile: ModelIndustryProfile) -> None:
        self.objects[(PROFILE, str(profile.pk))] = profile
        self.set((PROFILE, str(profile.model_id), profile.industry.slug), rendered(profile))

    def values(self, *key) -> dict | None:
        return self.state.get(key)

    @cached_property
    def industry_slugs(self) -> set[str]:
        """The industries there are (a few rows): read once, not once per profile restored."""
        return set(Industry.objects.values_list("slug", flat=True))

    def profiles_of(self, model_id: str) -> list[dict]:
        """A model's profiles as the steps planned so far leave them, by industry."""
        keys = sorted(self.profile_keys.get(model_id, ()))
        return [values for key in keys if (values := self.state[key]) is not None]

    def set(self, key: tuple, values: dict | None) -> None:
        self.state[key] = values
        if key[0] == PROFILE:
            self.profile_keys.setdefault(key[1], set()).add(key)
        elif key[0] == MODEL_OBJECT_TYPE and values is None:  # its profiles go with it
            for profile in self.profile_keys.get(key[1], ()):
                self.state[profile] = None

    def profile_industry(self, entry: AuditEntry) -> str | None:
        """The industry (slug) of the profile an entry is about: as the entry names it, or,
        for an update (which names only what changed), as the profile has it now."""
        named = entry.changes.get("industry") or {}
        if named.get("new") or named.get("old"):
            return named.get("new") or named.get("old")
        profile = self.objects.get((PROFILE, entry.object_id))
        return profile.industry.slug if profile is not None else None

    def restored_parts_of(self, entry: AuditEntry) -> list[int]:
        return self._restored_parts.get(entry.pk, [])

    def model_restore(self, entry: AuditEntry) -> ModelRestore | None:
        """A deleted model's last history row, and the rows of the profiles deleted with it
        (in the same request); None when its history has no such row (pruned)."""
        model_id = int(entry.object_id)
        record = (
            # (by request id, not time: SQLite's set-based history rows keep milliseconds only)
            AIModel.history.filter(id=model_id, history_type="-", history_request_id=entry.request_id)
            .order_by("-history_date", "-history_id")
            .first()
        )
        if record is None:
            return None
        parts = AuditEntry.objects.filter(
            parent_type=MODEL_OBJECT_TYPE,
            parent_id=entry.object_id,
            object_type=PROFILE,
            action=AuditAction.DELETE,
            request_id=entry.request_id,
            pk__lt=entry.pk,  # (a part's deletion is written before its model's)
        ).values_list("pk", "object_id")
        parts = list(parts)
        self._restored_parts[entry.pk] = [pk for pk, _ in parts]
        rows = ModelIndustryProfile.history.filter(
            id__in=[int(object_id) for _, object_id in parts], history_type="-", history_request_id=entry.request_id
        ).order_by("-history_date", "-history_id")
        latest = {}
        for row in rows:  # one per industry: the newest
            latest.setdefault(row.industry_id, row)
        return ModelRestore(record=record, profiles=list(latest.values()))
