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

import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import orjson
from django.conf import settings
from django.db import connections, models, transaction
from django.db.models.functions import Cast

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


def chain_hmac_key(key: str) -> bytes:
    """The HMAC key, derived from the setting as Django's `salted_hmac` derives its keys."""
    return hashlib.sha256((KEY_SALT + key).encode()).digest()


def _canonical(value) -> bytes:
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # an integer beyond 64 bits in a JSON change
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def _json(text: str | None):
    if text is None:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # an integer beyond 64 bits
        return json.loads(text)


def entry_digest(position: int, previous: str, row: tuple, key: bytes) -> str:
    """The digest of the entry `row` (values of CHAINED_FIELDS, as `chained_rows` reads
    them back from the database) at `position`, after the link whose digest is `previous`;
    `key` from `chain_hmac_key`. The JSON of `changes` is hashed in one canonical form
    (sorted keys), whatever text the database gives back for it."""
    timestamp = row[1].isoformat() if row[1] is not None else None
    message = _canonical([position, previous, row[0], timestamp, *row[2:10], _json(row[10]), *row[11:]])
    return hmac.digest(key, message, "sha256").hex()


def chained_columns(connection) -> list[str]:
    """CHAINED_FIELDS of an audit entry as SQL expressions (PostgreSQL), `changes` as text:
    what a raw read or an INSERT's RETURNING gives exactly as `as_chained` would."""
    columns = []
    for name in CHAINED_FIELDS:
        column = connection.ops.quote_name(AuditEntry._meta.get_field(name).column)
        columns.append(f"{column}::text" if name == "changes" else column)
    return columns


def chained_rows(entry_model, ids: list, using: str) -> Iterator[tuple]:
    """The entries among `ids` that exist, in id order, as CHAINED_FIELDS tuples (the JSON
    of `changes` as text: decoding it through the model field costs more than the rest).
    On PostgreSQL each chunk of ids goes as one array parameter."""
    ids = sorted(set(ids))
    connection = connections[using]
    raw = connection.vendor == "postgresql" and entry_model is AuditEntry
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        if not raw:
            yield from as_chained(entry_model._base_manager.using(using).filter(pk__in=chunk).order_by("pk"))
            continue
        table, key = connection.ops.quote_name(AuditEntry._meta.db_table), AuditEntry._meta.pk.column
        with connection.cursor() as cursor:
            columns = ", ".join(chained_columns(connection))
            cursor.execute(f"SELECT {columns} FROM {table} WHERE {key} = ANY(%s) ORDER BY {key}", [chunk])  # noqa: S608
            yield from cursor.fetchall()


def as_chained(queryset) -> models.QuerySet:
    """`queryset` of audit entries as CHAINED_FIELDS tuples, `changes` as its JSON text."""
    fields = [name if name != "changes" else "changes_text" for name in CHAINED_FIELDS]
    return queryset.annotate(changes_text=Cast("changes", models.TextField())).values_list(*fields)


def append_links(head, rows: Iterable[tuple], key: bytes) -> list[tuple]:
    """Chain `rows` after `head` (moving it): (position, entry_id, previous, digest) each."""
    links = []
    for row in rows:
        position = head.position + 1
        digest = entry_digest(position, head.digest, row, key)
        links.append((position, row[0], head.digest, digest))
        head.position, head.digest = position, digest
    return links


def locked_head(using: str) -> AuditChainHead:
    heads = AuditChainHead.objects.using(using).select_for_update()
    head = heads.filter(pk=1).first()
    if head is None:  # a database emptied by hand (tests' flush): the chain starts again
        AuditChainHead.objects.using(using).bulk_create(
            [AuditChainHead(pk=1, position=0, digest=GENESIS)], ignore_conflicts=True
        )
        head = heads.get(pk=1)
    return head


def _rows_of(written: list, using: str) -> list[tuple]:
    """The CHAINED_FIELDS rows of what writers reported: ids, read back here, and rows their
    INSERT already returned (kept only if every one of them still exists: a savepoint rolled
    back since would have taken them away)."""
    ids = [item for item in written if not isinstance(item, tuple)]
    rows = [item for item in written if isinstance(item, tuple)]
    if rows:  # only PostgreSQL's writers return rows (audit.bulk)
        returned = [row[0] for row in rows]
        connection = connections[using]
        table, key = connection.ops.quote_name(AuditEntry._meta.db_table), AuditEntry._meta.pk.column
        with connection.cursor() as cursor:  # one array parameter: binding thousands of ids costs more
            cursor.execute(f"SELECT count(*) FROM {table} WHERE {key} = ANY(%s)", [returned])  # noqa: S608
            if cursor.fetchone()[0] != len(set(returned)):
                ids, rows = ids + returned, []
    return sorted([*rows, *chained_rows(AuditEntry, ids, using)], key=lambda row: row[0])


def link_entries(written: list, *, using: str = "default") -> int:
    """Link the entries written by this transaction (ids, or rows as `as_chained` gives
    them) at the end of the chain, in id order."""
    if not written:
        return 0
    from audit.bulk import insert_rows  # audit.bulk reports to this module

    # No savepoint inside a writer's transaction: an error here ends that transaction anyway.
    with transaction.atomic(using=using, savepoint=False):
        head = locked_head(using)
        links = append_links(head, _rows_of(written, using), chain_hmac_key(chain_key()))
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


def entries_written(written: Iterable, *, using: str = "default") -> None:
    """Every writer of audit entries calls this with what it inserted: ids, or rows as
    `as_chained` gives them when its INSERT returned them (saving a read)."""
    pending = _pending.get()
    if pending is not None:
        pending.extend(written)
    else:
        link_entries(list(written), using=using)
