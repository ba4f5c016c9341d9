"""An import writes its new models while the rest of the file is still being validated
(importing/plan.py, `Planner.run`): one thread validates, a chunk at a time, while the
import's own thread writes each chunk's new models. What the import does is unchanged:
all or nothing by default, every valid row once with skip_invalid, one audit entry per
object, and rows that depend on others written once those are settled."""

import pytest

from audit.models import AuditEntry
from models_registry.importing import apply, import_models, plan, read_source
from models_registry.models import AIModel, RegisteredName
from models_registry.tests.factories import AIModelFactory, ProviderFactory

pytestmark = pytest.mark.django_db

# Validated two rows at a time: [new-1, new-2], [new-3, gives-up], [new-6, old], [new-7].
ROWS = [
    "name,provider,successor,aliases",
    "new-1,acme,,",
    "new-2,acme,held,",  # its successor is in the registry: written early
    "new-3,acme,new-6,",  # its successor is a row of the file: written once all are valid
    "gives-up,acme,,",  # a name `old` holds now and gives up below: written after that
    "new-6,acme,,",
    "old,acme,,",  # an existing model, updated (its alias dropped): written last
    "new-7,acme,,",
]


@pytest.fixture
def chunks_of_two(monkeypatch):
    monkeypatch.setattr(plan, "VALIDATION_CHUNK", 2)


@pytest.fixture
def writes(monkeypatch) -> list[list[str]]:
    """The names of the models each call of apply_rows wrote, in order."""
    calls = []
    original = apply.apply_rows

    def recorded(import_plan, rows, *, actor):
        calls.append(sorted(row.model.name for row in rows if row.kind == plan.NEW or row.kind == plan.UPDATE))
        return original(import_plan, rows, actor=actor)

    monkeypatch.setattr(apply, "apply_rows", recorded)
    monkeypatch.setattr("models_registry.importing.apply_rows", recorded)
    return calls


def a_file(rows: list[str]) -> bytes:
    return ("\n".join(rows) + "\n").encode()


def test_new_models_are_written_chunk_by_chunk_and_the_rest_once_all_are_validated(chunks_of_two, writes):
    ProviderFactory(slug="acme")
    held = AIModelFactory(name="held")
    AIModelFactory(name="old", aliases=["gives-up"])
    mark = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first()

    report = import_models(read_source("m.csv", a_file(ROWS)), actor=None)

    assert report.applied, [(row.ref, row.errors) for row in report.invalid_rows]
    assert report.summary() == "created=6 updated=1 unchanged=0 invalid=0"
    assert writes == [["new-1", "new-2"], [], ["new-6"], ["new-7"], ["gives-up", "new-3", "old"]]
    assert AIModel.objects.get(name="new-2").successor == held
    assert AIModel.objects.get(name="new-3").successor == AIModel.objects.get(name="new-6")
    assert RegisteredName.objects.get(name="gives-up").model == AIModel.objects.get(name="gives-up")
    # One audit entry per model written, early or last, and all at one time.
    entries = AuditEntry.objects.filter(pk__gt=mark, object_type="aimodel")
    created = entries.filter(action="create")
    assert sorted(created.values_list("object_repr", flat=True)) == [
        "gives-up", "new-1", "new-2", "new-3", "new-6", "new-7"
    ]  # fmt: skip
    assert list(entries.filter(action="update").values_list("object_repr", flat=True)) == ["old"]
    assert len(set(entries.values_list("timestamp", flat=True))) == 1


def test_an_invalid_row_late_in_the_file_rolls_back_what_was_written_early(chunks_of_two, writes):
    ProviderFactory(slug="acme")
    rows = ["name,provider", "a-1,acme", "a-2,acme", "a-3,acme", "a-4,acme", "bad name!,acme"]
    entries_before = AuditEntry.objects.count()

    report = import_models(read_source("m.csv", a_file(rows)), actor=None)

    assert not report.applied
    assert [row.ref for row in report.invalid_rows] == ["line 6"]
    assert writes and writes[0] == ["a-1", "a-2"]  # written early, then rolled back
    assert not AIModel.objects.exists()
    assert AuditEntry.objects.count() == entries_before


def test_once_a_row_is_invalid_nothing_more_is_written_early(chunks_of_two, writes):
    ProviderFactory(slug="acme")
    rows = ["name,provider", "bad name!,acme", "a-2,acme", "a-3,acme", "a-4,acme"]

    report = import_models(read_source("m.csv", a_file(rows)), actor=None)

    assert not report.applied and writes == []
    assert not AIModel.objects.exists()


def test_with_skip_invalid_every_valid_row_is_written_once(chunks_of_two, writes):
    ProviderFactory(slug="acme")
    rows = ["name,provider", "a-1,acme", "bad name!,acme", "a-3,acme", "a-1,acme", "a-5,acme"]

    report = import_models(read_source("m.csv", a_file(rows)), actor=None, skip_invalid=True)

    assert report.applied
    assert report.summary() == "created=2 updated=0 unchanged=0 invalid=3"  # a-1 twice: both refused
    assert sorted(AIModel.objects.values_list("name", flat=True)) == ["a-3", "a-5"]
    assert AuditEntry.objects.filter(object_type="aimodel").count() == 2


def test_validation_may_not_query_the_database_while_the_import_writes(chunks_of_two, monkeypatch):
    """In the validating thread a query would run outside the import's transaction."""
    ProviderFactory(slug="acme")
    original = AIModel.clean

    def querying_clean(self):
        AIModel.objects.exists()
        return original(self)

    monkeypatch.setattr(AIModel, "clean", querying_clean)
    rows = ["name,provider", "a-1,acme", "a-2,acme", "a-3,acme"]

    with pytest.raises(RuntimeError, match="Import validation ran a query"):
        import_models(read_source("m.csv", a_file(rows)), actor=None)
    assert not AIModel.objects.exists()


def test_a_dry_run_validates_in_the_callers_thread_and_writes_nothing(chunks_of_two, writes):
    ProviderFactory(slug="acme")
    rows = ["name,provider", "a-1,acme", "a-2,acme", "a-3,acme"]

    report = import_models(read_source("m.csv", a_file(rows)), actor=None, dry_run=True)

    assert report.summary() == "created=3 updated=0 unchanged=0 invalid=0" and not report.applied
    assert writes == [] and not AIModel.objects.exists()
