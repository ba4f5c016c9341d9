"""Revert an audit entry, or every entry of one request (a whole bulk operation or import),
and restore deleted models (docs/contract.md §7, "Lifecycle").

The inverse of each entry is worked out first, for all of them together (`plan`: what each
step writes, what changed since, what cannot be done), then carried out through the
registry's services (`apply`; the many models of an import set-based, `sets`) in one
transaction: a normal, validated change, recorded by the one change writer with the
source `revert` and a reason naming what it reverts. The
API (`POST /api/v1/audit/{id}/revert`, `.../requests/{request_id}/revert`) and the admin's
preview pages both call these.
"""

from django.http import Http404

from audit.choices import ChangeSource
from audit.models import AuditEntry
from common.batches import batched
from models_registry.reverting.apply import Applier
from models_registry.reverting.plan import FieldRevert, RevertPlan, RevertRefused, Step, plan_revert
from models_registry.services.catalog import registry_write


def entry_label(entry: AuditEntry) -> str:
    return f"revert of entry {entry.pk}"


def request_label(request_id: str) -> str:
    return f"revert of request {request_id}"


def request_entries(request_id: str) -> list[AuditEntry]:
    """Every entry of one request, newest first, however many (an import of 100,000 rows
    has one per model and profile it wrote); Http404 when it has none."""
    entries = list(AuditEntry.objects.filter(request_id=request_id).order_by("-id"))
    if not entries:
        raise Http404(f"No audit entry has the request id {request_id!r}.")
    return entries


def revert(*, entries: list[AuditEntry], label: str, actor, reason: str = "", force: bool = False) -> list[AuditEntry]:
    """Revert `entries` (newest first) as one change, or nothing: RevertRefused when a field
    changed since (unless `force`) or a step cannot be done, ValidationError when the
    registry refuses a value, HasDependenciesError when a model to delete is in use.
    Returns the new change's entries, oldest first."""
    text = f"{label}: {reason}" if reason else label
    with registry_write(actor=actor, reason=text, source=ChangeSource.REVERT) as write:
        plan = plan_revert(entries, lock=True)
        refusal = plan.refusal(force=force)
        if refusal is not None:
            raise refusal
        Applier(plan, actor=actor, reason=text, name_entries=len(entries) > 1).run()
        written = write.entry_ids()
        write.changed = bool(written)
    chunks = batched(sorted(written))
    return [entry for ids in chunks for entry in AuditEntry.objects.filter(pk__any=ids).order_by("id")]


def revert_entry(*, entry: AuditEntry, actor, reason: str = "", force: bool = False) -> list[AuditEntry]:
    return revert(entries=[entry], label=entry_label(entry), actor=actor, reason=reason, force=force)


def revert_request(*, request_id: str, actor, reason: str = "", force: bool = False) -> list[AuditEntry]:
    # (The cycle collector is not paused, as the import command pauses it: this runs inside
    # web requests, where a pause would stop it for the whole server process.)
    entries = request_entries(request_id)
    return revert(entries=entries, label=request_label(request_id), actor=actor, reason=reason, force=force)


__all__ = [
    "FieldRevert",
    "RevertPlan",
    "RevertRefused",
    "Step",
    "entry_label",
    "plan_revert",
    "request_entries",
    "request_label",
    "revert",
    "revert_entry",
    "revert_request",
]
