"""How the registry differs from an upstream catalog (docs/contract.md §7, "Lifecycle").

The upstream file is read and checked exactly as an import of it would be (`plan_import`,
writing nothing), so "drift" is what importing the file would change:

- new: models the file describes that the registry does not hold;
- changed: models whose fields the file sets differently (registry value -> upstream value),
  in the audit trail's rendering of values;
- gone: models of the providers the file covers that the file no longer names (neither as a
  name nor as an alias), leaving out those already retired (`inactive`);
- invalid: rows the registry could not take (reported, not counted as drift).
"""

from dataclasses import dataclass, field

from models_registry.choices import ModelStatus
from models_registry.folding import fold
from models_registry.importing.plan import INVALID, NEW, UPDATE, ImportPlan, ProfileChange, plan_import
from models_registry.importing.source import SourceFile
from models_registry.models import AIModel

GONE_SCAN_CHUNK = 5_000


@dataclass
class Drift:
    new: list[str] = field(default_factory=list)
    changed: list[dict] = field(default_factory=list)  # {"name", "changes": {field: {"registry", "upstream"}}}
    gone: list[str] = field(default_factory=list)
    invalid: list[dict] = field(default_factory=list)  # {"row", "name", "errors": {column: [message]}}
    compared: int = 0  # the file's rows the registry could take

    @property
    def in_sync(self) -> bool:
        return not (self.new or self.changed or self.gone)

    def as_json(self) -> dict:
        return {"new": self.new, "changed": self.changed, "gone": self.gone, "invalid": self.invalid}

    def summary(self) -> str:
        return f"new={len(self.new)} changed={len(self.changed)} gone={len(self.gone)} invalid={len(self.invalid)}"


def _profile_changes(changes: list[ProfileChange]) -> dict:
    """A model's industry profile changes, one key per industry."""
    found = {}
    for change in changes:
        slug = change.profile.industry.slug
        if change.kind == NEW:
            found[f"industries.{slug}"] = {"registry": None, "upstream": _profile(change.profile)}
        elif change.kind == UPDATE:
            found[f"industries.{slug}"] = {
                "registry": {key: diff["old"] for key, diff in change.changes.items()},
                "upstream": {key: diff["new"] for key, diff in change.changes.items()},
            }
        else:
            found[f"industries.{slug}"] = {"registry": _profile(change.profile), "upstream": None}
    return found


def _profile(profile) -> dict:
    return {"enabled": profile.enabled, "settings": profile.settings}


def _gone(plan: ImportPlan) -> list[str]:
    """Names of the registry's models, of the providers the file covers, that it does not name."""
    provider_ids = {row.model.provider_id for row in plan.model_rows if row.model.provider_id is not None}
    named = {fold(row.name) for row in plan.rows if row.name}
    for row in plan.model_rows:
        if isinstance(row.model.aliases, list):
            named.update(fold(alias) for alias in row.model.aliases if isinstance(alias, str))
    candidates = (
        AIModel.objects.filter(provider_id__in=provider_ids)
        .exclude(status=ModelStatus.INACTIVE)
        .order_by("name")
        .values_list("name", "aliases")
    )
    return [
        name
        for name, aliases in candidates.iterator(chunk_size=GONE_SCAN_CHUNK)
        if fold(name) not in named and not any(fold(alias) in named for alias in aliases)
    ]


def catalog_drift(source: SourceFile) -> Drift:
    """Compare the registry with `source`; change nothing."""
    plan = plan_import(source)
    drift = Drift()
    for row in plan.rows:
        if row.kind == INVALID:
            drift.invalid.append({"row": row.ref, "name": row.name, "errors": row.errors})
        elif row.counted:
            drift.compared += 1
    for row in plan.model_rows:
        if row.kind == NEW:
            drift.new.append(row.model.name)
        elif row.kind == UPDATE:
            changes = {
                name: {"registry": diff["old"], "upstream": diff["new"]} for name, diff in row.changes.items()
            } | _profile_changes(row.profile_changes)
            drift.changed.append({"name": row.model.name, "changes": changes})
    drift.new.sort(key=fold)
    drift.changed.sort(key=lambda item: fold(item["name"]))
    drift.gone = _gone(plan)
    return drift
