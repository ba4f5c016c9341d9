"""Walking the audit chain (`audit.chain`) to find rows changed, removed or inserted out of band.

Reads in chunks (links by position, then their entries by id), so memory stays constant
whatever the length of the log. What it can tell:

- changed: an entry whose content no longer gives its link's digest (or whose link was edited);
- removed: an entry whose link is left without it, links missing between two positions, a
  chain whose oldest kept link follows a digest no retention run recorded, or links missing
  after the last one the head names;
- inserted out of band: an entry with no link (every writer links what it writes in its
  own transaction, so a committed entry without one did not come through the app).
"""

from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef

from audit.chain import CHUNK, GENESIS, chain_hmac_key, chain_key, chained_rows, entry_digest
from audit.choices import AuditAction
from audit.models import AuditChainHead, AuditEntry, AuditLink
from audit.retention import CHAIN_START, RETENTION_OBJECT_TYPE

CHANGED, REMOVED, INSERTED = "changed", "removed", "inserted"


@dataclass(frozen=True)
class Problem:
    kind: str  # CHANGED, REMOVED or INSERTED
    entry_id: int | None  # the entry named, when there is one to name
    position: int | None  # its place in the chain, when it has one
    message: str

    def as_dict(self) -> dict:
        return {"kind": self.kind, "entry_id": self.entry_id, "position": self.position, "message": self.message}


@dataclass
class Verification:
    checked: int = 0  # links walked
    first_position: int | None = None
    last_position: int | None = None
    last_digest: str | None = None
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0

    @property
    def intact(self) -> bool:
        return self.problem_count == 0

    def as_dict(self) -> dict:
        return {
            "intact": self.intact,
            "checked": self.checked,
            "first_position": self.first_position,
            "last_position": self.last_position,
            "last_digest": self.last_digest,
            "problem_count": self.problem_count,
            "problems": [problem.as_dict() for problem in self.problems],
        }


def _recorded_starts() -> set[tuple[int, str]]:
    """(position, digest) of every chain start a retention run recorded in its own entry."""
    runs = AuditEntry.objects.filter(
        object_type=RETENTION_OBJECT_TYPE, action=AuditAction.DELETE, changes__has_key=CHAIN_START
    )
    starts = set()
    for changes in runs.values_list("changes", flat=True).iterator(chunk_size=CHUNK):
        start = changes[CHAIN_START].get("new") or {}
        if isinstance(start, dict):
            starts.add((start.get("position"), start.get("digest")))
    return starts


def _links() -> Iterator[tuple[tuple, tuple | None]]:
    """(link, its entry's chained text or None) in chain order, a chunk at a time."""
    after = None
    while True:
        links = AuditLink.objects.order_by("position")
        if after is not None:
            links = links.filter(position__gt=after)
        chunk = list(links.values_list("position", "entry_id", "previous", "digest", "catalog_version")[:CHUNK])
        if not chunk:
            return
        by_id = dict(chained_rows([link[1] for link in chunk], AuditEntry.objects.db))
        for link in chunk:
            yield link, by_id.get(link[1])
        after = chunk[-1][0]


def verify_chain(*, keep: int = 20, expect: tuple[int, str] | None = None) -> Verification:
    """Walk the whole chain; keep the first `keep` problems (and count them all). `expect`
    is a (position, digest) an earlier run printed, kept outside the database: the chain
    must still hold it (unless retention has pruned that far since)."""
    result = Verification()

    def report(kind: str, entry_id, position, message: str) -> None:
        result.problem_count += 1
        if len(result.problems) < keep:
            result.problems.append(Problem(kind, entry_id, position, message))

    key = chain_hmac_key(chain_key())
    head = AuditChainHead.objects.filter(pk=1).values_list("position", "digest").first()  # before the walk
    starts = _recorded_starts()
    expected = None  # (position, digest) the next link must follow
    last_entry = None
    for (position, entry_id, previous, digest, catalog_version), text in _links():
        if expected is None:
            result.first_position = position
            if not ((position == 1 and previous == GENESIS) or (position - 1, previous) in starts):
                report(
                    REMOVED,
                    entry_id,
                    position,
                    f"the chain starts at position {position} (entry {entry_id}) after a link that no retention run "
                    "recorded: older entries were removed",
                )
        elif position != expected[0] + 1 or previous != expected[1]:
            report(
                REMOVED,
                entry_id,
                position,
                f"entries removed between entry {last_entry} (position {expected[0]}) and entry {entry_id} "
                f"(position {position})",
            )
        if text is None:
            report(REMOVED, entry_id, position, f"entry {entry_id} (position {position}) was removed")
        elif entry_digest(position, previous, catalog_version, text, key) != digest:
            report(CHANGED, entry_id, position, f"entry {entry_id} (position {position}) was changed")
        if expect is not None and position == expect[0]:
            if digest != expect[1]:
                report(CHANGED, entry_id, position, f"position {position} no longer has the digest recorded for it")
            expect = None
        result.checked += 1
        expected, last_entry = (position, digest), entry_id
    if expected is not None:
        result.last_position, result.last_digest = expected
    if head is not None and head[0] > (expected[0] if expected else 0):
        report(
            REMOVED,
            None,
            head[0],
            f"the newest entries were removed: the chain ends at position {expected[0] if expected else 0}, "
            f"its head says {head[0]}",
        )
    if expect is not None and expect[0] > (expected[0] if expected else 0):
        report(REMOVED, None, expect[0], f"the chain ends before position {expect[0]}, recorded earlier: removed")
    unlinked = AuditEntry.objects.filter(~Exists(AuditLink.objects.filter(entry_id=OuterRef("pk"))))
    reported = 0
    for entry_id in unlinked.order_by("pk").values_list("pk", flat=True)[:keep]:
        report(INSERTED, entry_id, None, f"entry {entry_id} was inserted out of band (it has no link)")
        reported += 1
    if reported == keep:
        result.problem_count += unlinked.count() - reported
    return result
