"""From committed changes to deliveries owed.

Change events are audit entries seen through their chain links (`audit.events`), and links
are numbered in commit order: a link is made at the end of its transaction while the
chain head is locked, so once position N is visible every position before it is too. Each
subscription keeps a cursor, the last position it has looked at. A dispatch reads the
links after the cursors, turns the events each subscription's filters let through into
delivery rows (one per subscription and event: a unique constraint) and moves the cursors,
all in one transaction. A delivery is therefore owed from the moment its change commits:
whichever process dies, either the rows and the cursor moved together or neither did, and
the next dispatch starts where the cursor says.

Subscriptions are locked (`FOR UPDATE SKIP LOCKED`) while dispatched, so workers running
at once share them out instead of waiting on each other.
"""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max

from audit.events import event_of
from audit.models import AuditEntry, AuditLink
from models_registry.selectors import models_depended_on_by
from webhooks.models import WebhookDelivery, WebhookSubscription

BATCH = 1000  # links read per dispatch
DEPENDENCY_OBJECT_TYPE = "modeldependency"


@dataclass(frozen=True)
class EventFilter:
    """What one subscription wants: its filters, with `dependent` resolved to the models
    that component depends on now."""

    types: frozenset
    provider_ids: frozenset
    model_ids: frozenset
    dependent: str
    depended_on: frozenset

    @classmethod
    def of(cls, subscription: WebhookSubscription, depended_on: set[int] = frozenset()) -> "EventFilter":
        return cls(
            types=frozenset(subscription.types),
            provider_ids=frozenset(pair["id"] for pair in subscription.providers),
            model_ids=frozenset(pair["id"] for pair in subscription.aimodels),
            dependent=subscription.dependent,
            depended_on=frozenset(depended_on),
        )

    def matches(self, event: dict, provider_id: int | None) -> bool:
        model_id = event["model"]["id"] if event["model"] else None
        if self.types and event["type"] not in self.types:
            return False
        if self.provider_ids and provider_id not in self.provider_ids:
            return False
        if self.model_ids and model_id not in self.model_ids:
            return False
        return not self.dependent or model_id in self.depended_on or self._own_registration(event)

    def _own_registration(self, event: dict) -> bool:
        """The component's own registrations and removals concern it, whether or not it
        still depends on their model when they are dispatched."""
        if event["object"]["type"] != DEPENDENCY_OBJECT_TYPE:
            return False
        name = event["changes"].get("component_name") or {}
        return self.dependent in (name.get("old"), name.get("new"))


def newest_position() -> int:
    return AuditLink.objects.aggregate(newest=Max("position"))["newest"] or 0


def events_after(position: int, limit: int) -> tuple[list[tuple[AuditEntry, dict]], int]:
    """([(entry, its event)] of the next `limit` links after `position`, in commit order,
    leaving out entries that are no events), and the last position read (`position` if none)."""
    links = list(AuditLink.objects.filter(position__gt=position).order_by("position")[:limit])
    if not links:
        return [], position
    entries = AuditEntry.objects.exclude(event_type="").in_bulk([link.entry_id for link in links])
    events = [
        (entries[link.entry_id], event_of(entries[link.entry_id], link)) for link in links if link.entry_id in entries
    ]
    return events, links[-1].position


def delivery_owed(subscription: WebhookSubscription, entry: AuditEntry, event: dict) -> WebhookDelivery:
    """The (unsaved) delivery of `event`, the change event of `entry`, to `subscription`."""
    return WebhookDelivery(
        subscription=subscription,
        event_id=event["id"],
        event_type=event["type"],
        position=int(event["cursor"]),
        entry_id=entry.pk,
    )


def dispatch_events(*, limit: int = BATCH) -> int:
    """One dispatch: up to `limit` links after the lowest cursor of the active subscriptions
    no other worker is dispatching. Returns the number of deliveries made."""
    newest = newest_position()
    behind = WebhookSubscription.objects.filter(active=True, cursor__lt=newest)
    if not behind.exists():
        return 0
    with transaction.atomic():
        subscriptions = list(behind.select_for_update(skip_locked=True).order_by("pk"))
        if not subscriptions:
            return 0
        events, last = events_after(min(s.cursor for s in subscriptions), limit)
        depended_on = {name: models_depended_on_by(name) for name in {s.dependent for s in subscriptions} - {""}}
        owed = []
        for subscription in subscriptions:
            wanted = EventFilter.of(subscription, depended_on.get(subscription.dependent, set()))
            owed += [
                delivery_owed(subscription, entry, event)
                for entry, event in events
                if int(event["cursor"]) > subscription.cursor and wanted.matches(event, entry.provider_id)
            ]
        WebhookDelivery.objects.bulk_create(owed, ignore_conflicts=True, batch_size=1000)
        WebhookSubscription.objects.filter(pk__in=[s.pk for s in subscriptions], cursor__lt=last).update(cursor=last)
    return len(owed)
