"""The change feed under concurrent writers, on PostgreSQL (docs/contract.md §7): eight
writers doing every kind of registry write while a follower reads the feed with `after`,
and the follower sees every committed change exactly once, in commit order, and never a
change that rolled back.

Why it holds (docs/architecture.md, "The change feed"): a writer takes its chain position
under the chain head's row lock and keeps that lock until it commits, so position N+1 can
only be handed out after N's transaction committed and became visible; a reader's snapshot
is therefore always a prefix of the positions. The follower checks exactly that on every
page it reads while the writers run: each page starts right after its cursor and has no
hole.
"""

import threading

import pytest
from django.db import connections, transaction

from audit.feed import read_changes
from audit.models import AuditEntry, AuditLink
from models_registry.choices import BulkAction
from models_registry.importing import import_models, read_source
from models_registry.models import AIModel
from models_registry.services import aimodel_bulk_apply, aimodel_create, aimodel_update, dependency_register
from models_registry.tests.factories import AIModelFactory, ProviderFactory
from models_registry.tests.test_concurrency import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WRITERS = 8
ROUNDS = 4
PAGE = 7  # small pages: many reads while the writers run


class Abandoned(Exception):
    pass


def writer(index: int, provider, owned: list[AIModel]) -> list[str]:
    """Every kind of write, ROUNDS times; returns the names of the models it rolled back."""
    rolled_back = []
    for round_ in range(ROUNDS):
        created = aimodel_create(actor=None, name=f"w{index}-r{round_}", provider=provider)
        aimodel_update(model=owned[0], actor=None, description=f"round {round_}")
        action = BulkAction.DEPRECATE if round_ % 2 == 0 else BulkAction.ACTIVATE
        aimodel_bulk_apply(action=action, ids=[model.pk for model in owned], actor=None)
        csv = f"name,provider\nw{index}-import-{round_}-a,{provider.slug}\nw{index}-import-{round_}-b,{provider.slug}\n"
        import_models(read_source("models.csv", csv.encode()), actor=None)
        dependency_register(model=created, actor=None, component_type="agent", component_id=f"agent-{index}")
        name = f"w{index}-rolled-back-{round_}"
        try:
            with transaction.atomic():
                aimodel_create(actor=None, name=name, provider=provider)
                raise Abandoned
        except Abandoned:
            rolled_back.append(name)
    return rolled_back


def test_eight_writers_and_a_follower_every_committed_change_once_in_commit_order():
    provider = ProviderFactory(slug="busy")
    owned = [[AIModelFactory(provider=provider) for _ in range(2)] for _ in range(WRITERS)]
    start = AuditLink.objects.order_by("-position").values_list("position", flat=True).first()
    done = threading.Event()
    seen: list[dict] = []
    holes: list[tuple] = []
    reads = [0]

    def follow():
        after = start
        try:
            while True:
                finished = done.is_set()  # noted before the read: that read sees every commit
                page = read_changes(after=after, limit=PAGE)
                reads[0] += 1
                positions = [int(event["cursor"]) for event in page.results]
                if positions != list(range(after + 1, after + 1 + len(positions))):
                    holes.append((after, positions))
                seen.extend(page.results)
                after = int(page.next)
                if finished and page.caught_up:
                    return
        finally:
            connections.close_all()

    follower = threading.Thread(target=follow)
    follower.start()
    outcomes = run_together(*[lambda i=i: writer(i, provider, owned[i]) for i in range(WRITERS)])
    done.set()
    follower.join(timeout=60)

    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)], outcomes
    assert not holes, holes[:3]
    links = AuditLink.objects.filter(position__gt=start).order_by("position")
    expected = [f"evt_{entry_id}" for entry_id in links.values_list("entry_id", flat=True)]
    assert [event["id"] for event in seen] == expected  # each committed change once, in commit order
    assert len(expected) >= WRITERS * ROUNDS * 7 and reads[0] > len(expected) // PAGE
    versions = [event["catalog_version"] for event in seen]
    assert versions == sorted(versions)  # the order the writes took the catalog lock in, too
    rolled_back = {name for outcome in outcomes for name in outcome}
    assert len(rolled_back) == WRITERS * ROUNDS
    assert not rolled_back & {event["object"]["name"] for event in seen}
    assert not AIModel.objects.filter(name__in=rolled_back).exists()
    assert not AuditEntry.objects.filter(object_repr__in=rolled_back).exists()
