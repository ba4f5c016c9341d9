"""JSON bodies written while their rows are read from the database, for lists that grow with
the catalog (docs/contract.md §7 "Scale"): the whole selection list, `/v1/models`.

The rows come from a server-side cursor on PostgreSQL (`QuerySet.iterator`), a chunk of
`CHUNK_ROWS` at a time, and each chunk is encoded and handed to the server before the next is
read: a process holds one chunk, whatever the size of the catalog. The response is one JSON
document, sent chunked; a database that fails half-way cuts it short (the client sees a
truncated body, not a 200 with a complete list that is wrong).

The cursor is read inside a transaction that lasts as long as the stream (`ReadTransaction`).
Outside one, Django declares it WITH HOLD, and PostgreSQL then runs the whole query and keeps
its result before the first row comes back: over a million models, seconds before the first
byte and the whole result held by the server.
"""

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain, islice

from django.db import DatabaseError, connections
from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from llm_admin.api.renderers import dumps

# Rows read from the cursor, and encoded, at a time. Also the bound below which the selection
# list is small enough to cache (models_registry.selectors.aimodel_options).
CHUNK_ROWS = 1000
# A client that reads no chunk for this long ends the stream: PostgreSQL closes the connection
# of a transaction left idle longer (the snapshot it holds keeps VACUUM from cleaning up).
STREAM_IDLE_SECONDS = 60

logger = logging.getLogger(__name__)


class ReadTransaction:
    """A transaction around a streamed read, on a PostgreSQL connection in autocommit (in a
    request, the usual case), so that its server-side cursor is declared without WITH HOLD and
    answers its first rows at once. A client that stops reading for STREAM_IDLE_SECONDS
    loses the stream (PostgreSQL ends the idle transaction's session). `end()` commits it
    (anything else the request wrote meanwhile included) and gives the connection back its
    autocommit. Inside an atomic block (tests, a caller's transaction), or on another database,
    it does nothing."""

    def __init__(self, using: str):
        connection = connections[using]
        self.connection = None
        if connection.vendor == "postgresql" and connection.get_autocommit():
            connection.set_autocommit(False)
            self.connection = connection
            try:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT set_config('idle_in_transaction_session_timeout', %s, true)",
                        [f"{STREAM_IDLE_SECONDS}s"],
                    )
            except BaseException:
                self.end()
                raise

    def end(self) -> None:
        connection, self.connection = self.connection, None
        if connection is None:
            return
        try:
            connection.commit()
            connection.set_autocommit(True)
        except DatabaseError:  # a connection lost mid-stream: Django closes it when the request ends
            logger.warning("a streamed read's transaction could not be ended", exc_info=True)


@dataclass
class Rows:
    """A query's rows from a server-side cursor, its first chunk read already: a database that
    cannot answer is a 503 before the response starts, and a list shorter than a chunk is
    known to be complete (`complete`, `first`), its transaction ended at once. Iterated, each
    row is `item(row)`, if given; `close()` ends the cursor and its transaction."""

    first: list
    rest: Iterator
    item: Callable | None = None
    transaction: ReadTransaction | None = field(default=None, repr=False)

    @classmethod
    def of(cls, queryset: QuerySet, item: Callable | None = None) -> "Rows":
        rows = cls(first=[], rest=iter(()), item=item)
        try:
            rows.transaction = ReadTransaction(queryset.db)
            rows.rest = queryset.iterator(chunk_size=CHUNK_ROWS)
            rows.first = list(islice(rows.rest, CHUNK_ROWS))
        except BaseException:
            rows.close()
            raise
        if rows.complete:  # read to its end: nothing is left open
            rows.release()
        return rows

    @property
    def complete(self) -> bool:
        return len(self.first) < CHUNK_ROWS

    def __iter__(self) -> Iterator:
        first, self.first = self.first, []  # the first chunk is freed once it is sent
        rows = chain(first, self.rest)
        return rows if self.item is None else map(self.item, rows)

    def close(self) -> None:
        """Closes the cursor now, on the connection it was opened on (before the request ends
        and the connection goes back to the pool), whether the rows were read or not, and
        ends its transaction."""
        self.first = []
        self.release()

    def release(self) -> None:
        """Closes the cursor and ends the transaction; rows already read stay."""
        try:
            if hasattr(self.rest, "close"):
                self.rest.close()
        finally:
            if self.transaction is not None:
                self.transaction.end()


class JSONArray:
    """`before`, the JSON array of the rows, then `after`, written a chunk of rows at a time.
    The response closes it when it is closed, sent whole or not, and it closes the rows."""

    def __init__(self, rows: Iterable, *, before: bytes = b"", after: bytes = b""):
        self.rows, self.before, self.after = rows, before, after

    def __iter__(self) -> Iterator[bytes]:
        rows = iter(self.rows)
        opening, separator = self.before + b"[", b""
        while items := list(islice(rows, CHUNK_ROWS)):
            encoded = dumps(items)  # b"[...]": its items go into the one array
            del items
            yield b"".join((opening, separator, memoryview(encoded)[1:-1]))
            opening, separator = b"", b","
        yield opening + b"]" + self.after

    def close(self) -> None:
        if hasattr(self.rows, "close"):
            self.rows.close()


def streamed_json(view, content: JSONArray, *, headers: dict | None = None) -> StreamingHttpResponse:
    """A streamed JSON answer of a DRF view. It carries the view's renderer context, as DRF's
    own responses do, so that `ReferenceCycleMiddleware` frees the view and its request
    once the answer is made; the content must not refer to either."""
    response = StreamingHttpResponse(content, content_type="application/json", headers=headers)
    response.renderer_context = view.get_renderer_context()
    return response
