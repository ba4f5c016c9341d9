"""The audit log as a tamper-evident chain.

Each audit entry gets one `AuditLink`: its position in one global order, the digest of
the link before it, and its own digest, an HMAC over its position, that previous digest
and every column of the entry. The key comes from settings (`AUDIT_CHAIN_KEY`, else
`SECRET_KEY`) and never reaches the database, so whoever edits the database, a superuser
included, cannot give a changed, removed or inserted row a chain that verifies
(`audit.verification` walks it).

Entries are linked at the end of the transaction that wrote them, in id order, while the
one `AuditChainHead` row is locked: registry writes get there after locking the catalog
version row (`registry_write`), so linking adds no wait they did not already have. Every
writer reports the ids it inserted (`entries_written`); inside `chain_links()` they are
linked when the block ends, elsewhere (a shell, a test factory) at once.
"""

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import orjson
from django.conf import settings
from django.db import transaction
from django.utils.crypto import salted_hmac

from audit.models import AuditChainHead, AuditEntry, AuditLink

GENESIS = "0" * 64  # the "previous digest" of the first link ever
# What a digest covers: the entry's id and every column it shows.
CHAINED_FIELDS = (
    "id", "timestamp", "user_id", "username", "action", "object_type", "object_id", "object_repr",
    "parent_type", "parent_id", "changes", "reason", "source", "request_id",
)  # fmt: skip
CHUNK = 2000
KEY_SALT = "llm_admin.audit.chain"


def chain_key() -> str:
    return getattr(settings, "AUDIT_CHAIN_KEY", "") or settings.SECRET_KEY


def _canonical(value) -> bytes:
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # an integer beyond 64 bits in a JSON change
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def entry_digest(position: int, previous: str, row: tuple, key: str) -> str:
    """The digest of the entry `row` (values of CHAINED_FIELDS, as read back from the
    database) at `position`, after the link whose digest is `previous`."""
    timestamp = row[1].isoformat() if row[1] is not None else None
    message = _canonical([position, previous, row[0], timestamp, *row[2:]])
    return salted_hmac(KEY_SALT, message, secret=key, algorithm="sha256").hexdigest()


def chained_rows(entry_model, ids: list, using: str) -> Iterator[tuple]:
    """The entries among `ids` that exist, in id order, as CHAINED_FIELDS tuples."""
    ids = sorted(set(ids))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        yield from (
            entry_model._base_manager.using(using).filter(pk__in=chunk).order_by("pk").values_list(*CHAINED_FIELDS)
        )


def append_links(head, rows: Iterable[tuple], key: str) -> list[tuple]:
    """Chain `rows` after `head` (moving it): (position, entry_id, previous, digest) each."""
    links = []
    for row in rows:
        position = head.position + 1
        digest = entry_digest(position, head.digest, row, key)
        links.append((position, row[0], head.digest, digest))
        head.position, head.digest = position, digest
    return links


def locked_head(using: str) -> AuditChainHead:
    AuditChainHead.objects.using(using).bulk_create(
        [AuditChainHead(pk=1, position=0, digest=GENESIS)], ignore_conflicts=True
    )
    return AuditChainHead.objects.using(using).select_for_update().get(pk=1)


def link_entries(ids: list, *, using: str = "default") -> int:
    """Link the entries `ids` (written by this transaction) at the end of the chain."""
    if not ids:
        return 0
    from audit.bulk import insert_rows  # audit.bulk reports to this module

    with transaction.atomic(using=using):
        head = locked_head(using)
        links = append_links(head, chained_rows(AuditEntry, ids, using), chain_key())
        insert_rows(AuditLink, ["position", "entry_id", "previous", "digest"], links, using=using)
        if links:
            AuditChainHead.objects.using(using).filter(pk=1).update(position=head.position, digest=head.digest)
    return len(links)


_pending: ContextVar[list | None] = ContextVar("audit_chain_pending", default=None)


@contextmanager
def chain_links(*, using: str = "default") -> Iterator[None]:
    """Entries written inside the block are linked when it ends without an error (inside
    the caller's transaction, so after whatever the caller locked last)."""
    pending: list = []
    token = _pending.set(pending)
    try:
        yield
    finally:
        _pending.reset(token)
    link_entries(pending, using=using)


def entries_written(ids: Iterable, *, using: str = "default") -> None:
    """Every writer of audit entries calls this with the ids it inserted."""
    pending = _pending.get()
    if pending is not None:
        pending.extend(ids)
    else:
        link_entries(list(ids), using=using)
