"""The change feed: change events in commit order, read by cursor (docs/contract.md §7).

An event is an audit entry with an event type seen through its chain link (`audit.events`),
and the link's position is its cursor. Positions are handed out while the one chain head
row is locked, and a writer holds that lock until its transaction commits, so positions
are given in commit order and every snapshot a reader takes holds a prefix of them: no
reader ever sees position N+1 without N (docs/architecture.md, "The change feed").
Reading "the links after the cursor" therefore sees every committed event once, in order,
and a transaction that rolls back leaves no link at all.

A read is one statement: the bounds of the kept chain (its oldest and newest position)
and the page, from one snapshot, so a page, its `next` and the check against what
retention kept always agree. It walks links by position (their primary key) from the
cursor, through at most SCAN_WINDOW positions, with the filters in SQL: a filter that
matches rarely costs a bounded scan per request, and `next` says how far the scan got.
"""

import time
from dataclasses import dataclass

from django.db import connections

from audit import feed_wakeup
from audit.events import MODEL_OBJECT_TYPE, cursor_of, event_of
from audit.models import AuditEntry, AuditLink

# Chain positions one read looks through at most. Enough for a full page of unfiltered
# events (retention entries, the only links that are no events, are rare); a rare filter
# over a long log advances by this much per request instead of reading the whole log.
SCAN_WINDOW = 10_000
# While its process's listener is down (reconnecting), a waiting reader reads again this
# often instead of relying on wake-ups. While it listens, a reader sleeps until woken: 200
# idle readers re-reading every few seconds would be a load of their own.
RECHECK_SECONDS = 5.0
# A waiting reader reads again at most this often, however often changes commit: a reader
# whose filter matches rarely would otherwise read once per commit anywhere in the registry.
REREAD_SECONDS = 0.2
MAX_CURSOR_DIGITS = 18  # a bigint holds every position a chain can reach


@dataclass(frozen=True)
class FeedFilter:
    """Which events a reader wants; every part given must match (AND)."""

    types: tuple[str, ...] = ()  # empty: every type
    model_ids: frozenset[int] | None = None  # None: any model, and events of no model
    provider_id: int | None = None


@dataclass(frozen=True)
class FeedPage:
    results: list[dict]
    next: str  # the cursor to pass as `after` to go on
    caught_up: bool  # the read reached the newest link: nothing more is committed yet


class CursorExpired(Exception):
    """The cursor is older than what retention kept: events after it are gone."""

    def __init__(self, oldest: str):
        super().__init__(f"Events after this cursor were removed by retention; the oldest cursor is {oldest}.")
        self.oldest = oldest  # pass this as `after` to read everything that is kept


class CursorBeyondEnd(Exception):
    """The cursor names a position the chain has not reached (a cursor from another
    database, or from before a restore)."""

    def __init__(self, newest: str):
        super().__init__(f"No such cursor: the feed ends at {newest}.")
        self.newest = newest


def position_of(cursor: str) -> int:
    """The chain position a cursor names; ValueError for anything that is not one."""
    if not (cursor.isascii() and cursor.isdigit()) or len(cursor) > MAX_CURSOR_DIGITS:
        raise ValueError("Enter a cursor from this feed (its `next`, or an event's `cursor`).")
    return int(cursor)


def _conditions(where: FeedFilter, placeholders) -> tuple[list[str], list]:
    """SQL conditions on the entry `e` for `where`, and their parameters."""
    conditions, params = ["e.event_type <> ''"], []  # entries of no registry change are no events
    if where.types:
        conditions.append(f"e.event_type IN ({placeholders(where.types)})")
        params += list(where.types)
    if where.model_ids is not None:
        ids = [str(pk) for pk in sorted(where.model_ids)]
        if not ids:
            conditions.append("1 = 0")
        else:
            # The model's own entries, and those of its parts (profiles, dependencies).
            conditions.append(
                f"((e.object_type = %s AND e.object_id IN ({placeholders(ids)}))"
                f" OR (e.parent_type = %s AND e.parent_id IN ({placeholders(ids)})))"
            )
            params += [MODEL_OBJECT_TYPE, *ids, MODEL_OBJECT_TYPE, *ids]
    if where.provider_id is not None:
        conditions.append("e.provider_id = %s")
        params.append(where.provider_id)
    return conditions, params


def _page_query(where: FeedFilter, after: int | None, limit: int, using: str) -> tuple[str, list]:
    connection = connections[using]
    link = connection.ops.quote_name(AuditLink._meta.db_table)
    entry = connection.ops.quote_name(AuditEntry._meta.db_table)
    conditions, params = _conditions(where, lambda values: ", ".join(["%s"] * len(values)))
    # Links first, each entry looked up by its id: the scan costs the window at most, however
    # long the log. Left to themselves the planners may rather scan every entry for a filter
    # (a provider's, say) and join: PostgreSQL's LATERAL ... OFFSET 0 and SQLite's CROSS JOIN
    # fix the order instead.
    if connection.vendor == "postgresql":
        entries = f"CROSS JOIN LATERAL (SELECT * FROM {entry} WHERE id = l.entry_id OFFSET 0) e"  # noqa: S608
    else:
        entries = f"CROSS JOIN {entry} e"
        conditions.insert(0, "e.id = l.entry_id")
    # Each MIN/MAX its own subquery: both databases answer one from the primary key's index
    # (SQLite only when it is alone in its SELECT). The page is LEFT JOINed to the bounds, so
    # that an empty page still brings them.
    sql = f"""
        WITH bounds AS (
            SELECT (SELECT MIN(position) FROM {link}) AS oldest, (SELECT MAX(position) FROM {link}) AS newest
        ), start AS (
            SELECT COALESCE(%s, bounds.oldest - 1, 0) AS position FROM bounds
        )
        SELECT bounds.oldest AS feed_oldest, bounds.newest AS feed_newest, start.position AS feed_start, page.*
        FROM bounds CROSS JOIN start LEFT JOIN (
            SELECT l.position AS feed_position, l.catalog_version AS feed_catalog_version, e.*
            FROM {link} l {entries}
            WHERE l.position > (SELECT position FROM start)
              AND l.position <= (SELECT position FROM start) + %s
              AND {" AND ".join(conditions)}
            ORDER BY l.position
            LIMIT %s
        ) page ON 1 = 1
        ORDER BY page.feed_position
    """  # noqa: S608 (table names from the models, values as parameters)
    return sql, [after, SCAN_WINDOW, *params, limit]


def read_changes(
    *, after: int | None, limit: int, where: FeedFilter = FeedFilter(), using: str = "default"
) -> FeedPage:
    """The first `limit` events after position `after` (None: from the oldest kept) that
    `where` selects, in commit order. Raises CursorExpired or CursorBeyondEnd."""
    sql, params = _page_query(where, after, limit, using)
    rows = list(AuditEntry.objects.using(using).raw(sql, params))
    bounds = rows[0]  # the LEFT JOIN gives one row even for an empty page
    oldest, newest, start = bounds.feed_oldest, bounds.feed_newest or 0, bounds.feed_start
    if after is not None and oldest is not None and after < oldest - 1:
        raise CursorExpired(cursor_of(oldest - 1))
    if after is not None and after > newest:
        raise CursorBeyondEnd(cursor_of(newest))
    entries = [row for row in rows if row.pk is not None]
    results = [
        event_of(entry, AuditLink(position=entry.feed_position, catalog_version=entry.feed_catalog_version))
        for entry in entries
    ]
    # A full page ends at its last event; otherwise the whole window was looked through, up
    # to the newest link at most.
    full = len(entries) == limit
    reached = entries[-1].feed_position if full else max(min(start + SCAN_WINDOW, newest), start)
    return FeedPage(results=results, next=cursor_of(reached), caught_up=reached >= newest)


def release_connection(using: str) -> None:
    """Give the request's database connection back before waiting (a waiting reader holds
    none), unless it is inside a transaction, which only a test wraps a request in."""
    connection = connections[using]
    if not connection.in_atomic_block:
        connection.close()


def follow_changes(
    *, after: int | None, limit: int, where: FeedFilter = FeedFilter(), wait: float = 0, using: str = "default"
) -> FeedPage:
    """`read_changes`, and if it finds nothing new, wait up to `wait` seconds for a change
    to commit (in any process) and read again, until an event `where` selects arrives."""
    deadline = time.monotonic() + wait
    bell = feed_wakeup.bell(using) if wait > 0 else None
    heard = bell.rings if bell else 0  # before reading: a commit after the read rings later
    page, read_at = read_changes(after=after, limit=limit, where=where, using=using), time.monotonic()
    while bell is not None and not page.results and page.caught_up:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        release_connection(using)
        bell.wait(heard, timeout=remaining if bell.ready.is_set() else min(remaining, RECHECK_SECONDS))
        time.sleep(max(0.0, min(read_at + REREAD_SECONDS, deadline) - time.monotonic()))
        heard = bell.rings
        page, read_at = read_changes(after=int(page.next), limit=limit, where=where, using=using), time.monotonic()
    return page
