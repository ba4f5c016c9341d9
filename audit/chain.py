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
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connections, transaction

from audit import feed_wakeup
from audit.bulk import insert_rows
from audit.models import AuditChainHead, AuditEntry, AuditLink

GENESIS = "0" * 64  # the "previous digest" of the first link ever
# What a digest covers: the entry's id and every column it shows.
CHAINED_FIELDS = (
    "id", "timestamp", "user_id", "username", "action", "object_type", "object_id", "object_repr",
    "parent_type", "parent_id", "parent_repr", "changes", "reason", "source", "request_id", "event_type",
    "provider_id",
)  # fmt: skip
CHUNK = 2000
KEY_SALT = "llm_admin.audit.chain"


def chain_key() -> str:
    return getattr(settings, "AUDIT_CHAIN_KEY", "") or settings.SECRET_KEY


def chain_hmac_key(key: str) -> bytes:
    """The HMAC key, derived from the setting as Django's `salted_hmac` derives its keys."""
    return hashlib.sha256((KEY_SALT + key).encode()).digest()


def chained_text_sql(connection) -> str:
    """SQL that renders an audit entry's CHAINED_FIELDS as one JSON array, in the database's
    own canonical form: what a digest covers, read the same way by the writer (an INSERT's
    RETURNING) and by the verifier (a SELECT), so neither parses dates or JSON in Python.
    On PostgreSQL the timestamp is its whole microseconds since the epoch (no dependence on
    the session's DateStyle or TimeZone) and `changes` is embedded as jsonb prints it; on
    SQLite both are the text as stored."""
    quote = connection.ops.quote_name
    columns = {name: quote(AuditEntry._meta.get_field(name).column) for name in CHAINED_FIELDS}
    if connection.vendor == "postgresql":
        columns["timestamp"] = f"(EXTRACT(EPOCH FROM {columns['timestamp']}) * 1000000)::bigint"
        return f"json_build_array({', '.join(columns.values())})::text"
    columns["changes"] = f"json({columns['changes']})"
    return f"json_array({', '.join(columns.values())})"


def entry_digest(position: int, previous: str, catalog_version: int | None, text: str, key: bytes) -> str:
    """The digest of the entry whose `chained_text_sql` is `text`, at `position`, after the
    link whose digest is `previous`, in `catalog_version`; `key` from `chain_hmac_key`."""
    message = f"{position}\x1f{previous}\x1f{'' if catalog_version is None else catalog_version}\x1f{text}"
    return hmac.digest(key, message.encode(), "sha256").hex()


def id_array(ids: Iterable[int]) -> str:
    """Integer ids as one PostgreSQL array literal, for `= ANY(%s::bigint[])`: a list
    parameter is quoted element by element in Python (psycopg binds client-side under
    Django), which costs more than the statement for thousands of ids."""
    return "{" + ",".join(str(int(pk)) for pk in ids) + "}"


def chained_rows(ids: list, using: str) -> Iterator[tuple[int, str]]:
    """(id, chained text) of the entries among `ids` that exist, in id order."""
    ids = sorted(set(ids))
    connection = connections[using]
    table, key = connection.ops.quote_name(AuditEntry._meta.db_table), AuditEntry._meta.pk.column
    text = chained_text_sql(connection)
    with connection.cursor() as cursor:
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            if connection.vendor == "postgresql":
                where, params = f"{key} = ANY(%s::bigint[])", [id_array(chunk)]
            else:
                where, params = f"{key} IN ({', '.join(['%s'] * len(chunk))})", chunk
            cursor.execute(f"SELECT {key}, {text} FROM {table} WHERE {where} ORDER BY {key}", params)  # noqa: S608
            yield from cursor.fetchall()


def append_links(head, rows: Iterable[tuple[int, str]], key: bytes, catalog_version: int | None = None) -> list[tuple]:
    """Chain `rows` ((id, chained text) each) after `head` (moving it): (position,
    entry_id, previous, digest, catalog_version) each."""
    links = []
    for entry_id, text in rows:
        position = head.position + 1
        digest = entry_digest(position, head.digest, catalog_version, text, key)
        links.append((position, entry_id, head.digest, digest, catalog_version))
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
    """The (id, chained text) rows of what writers reported: ids, read back here, and rows
    their INSERT already returned (kept only if every one of them still exists: a savepoint
    rolled back since would have taken them away)."""
    ids = [item for item in written if not isinstance(item, tuple)]
    rows = [item for item in written if isinstance(item, tuple)]
    if rows:  # only PostgreSQL's writers return rows (audit.writer)
        returned = [row[0] for row in rows]
        connection = connections[using]
        table, key = connection.ops.quote_name(AuditEntry._meta.db_table), AuditEntry._meta.pk.column
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {table} WHERE {key} = ANY(%s::bigint[])", [id_array(returned)])  # noqa: S608
            if cursor.fetchone()[0] != len(set(returned)):
                ids, rows = ids + returned, []
    return sorted([*rows, *chained_rows(ids, using)], key=lambda row: row[0])


def link_entries(written: list, *, using: str = "default", catalog_version: int | None = None) -> int:
    """Link the entries written by this transaction (ids, or (id, chained text) rows) at
    the end of the chain, in id order, as part of `catalog_version`."""
    if not written:
        return 0
    # No savepoint inside a writer's transaction: an error here ends that transaction anyway.
    with transaction.atomic(using=using, savepoint=False):
        head = locked_head(using)
        links = append_links(head, _rows_of(written, using), chain_hmac_key(chain_key()), catalog_version)
        insert_rows(AuditLink, ["position", "entry_id", "previous", "digest", "catalog_version"], links, using=using)
        if links:
            AuditChainHead.objects.using(using).filter(pk=1).update(position=head.position, digest=head.digest)
            feed_wakeup.announce(using)  # the change feed's waiting readers hear of it at commit
    return len(links)


@dataclass
class PendingLinks:
    written: list = field(default_factory=list)  # what entries_written reported
    catalog_version: int | None = None  # set by the registry write that made the new version


_pending: ContextVar[PendingLinks | None] = ContextVar("audit_chain_pending", default=None)


@contextmanager
def chain_links(*, using: str = "default") -> Iterator[PendingLinks]:
    """Entries written inside the block are linked when it ends without an error (inside
    the caller's transaction, so after whatever the caller locked last), as part of the
    catalog version the caller sets on what this yields."""
    pending = PendingLinks()
    token = _pending.set(pending)
    try:
        yield pending
    finally:
        _pending.reset(token)
    link_entries(pending.written, using=using, catalog_version=pending.catalog_version)


def entries_written(written: Iterable, *, using: str = "default") -> None:
    """Every writer of audit entries calls this with what it inserted: ids, or (id,
    chained text) rows when its INSERT returned them (saving a read)."""
    pending = _pending.get()
    if pending is not None:
        pending.written.extend(written)
    else:
        link_entries(list(written), using=using)
