"""Audit entries as change events: the shape the change feed serves and webhooks deliver
(docs/contract.md §7, "Change events").

A change event is not a row of its own: it is an audit entry that has an event type,
seen through its chain link. The link's position is the event's cursor, because links
are made in commit order (`audit.chain`), and the link carries the catalog version the
change became part of. So every door that writes an audit entry writes the event too,
in the same transaction, and a change that rolls back leaves neither.
"""

from audit.models import AuditEntry, AuditLink

# The registry's model type as the audit log names it: a part's entry whose parent has this
# type belongs to that model, whose event it is (`"model"` in the event).
MODEL_OBJECT_TYPE = "aimodel"


def event_id(entry_id: int) -> str:
    return f"evt_{entry_id}"


def cursor_of(position: int) -> str:
    return str(position)


def event_of(entry: AuditEntry, link: AuditLink) -> dict:
    """The change event of `entry`, whose chain link is `link`."""
    if entry.object_type == MODEL_OBJECT_TYPE:
        model = {"id": int(entry.object_id), "name": entry.object_repr}
    elif entry.parent_type == MODEL_OBJECT_TYPE:
        model = {"id": int(entry.parent_id), "name": entry.parent_repr}
    else:
        model = None
    return {
        "id": event_id(entry.pk),
        "cursor": cursor_of(link.position),
        "type": entry.event_type,
        "occurred_at": entry.timestamp.isoformat(),
        "catalog_version": link.catalog_version,
        "object": {"type": entry.object_type, "id": entry.object_id, "name": entry.object_repr},
        "model": model,
        "changes": entry.changes,
        "actor": entry.username,
        "source": entry.source,
        "reason": entry.reason,
        "request_id": entry.request_id,
    }
