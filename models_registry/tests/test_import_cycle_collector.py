"""Imports pause Python's cycle collector while they run, and always turn it back on."""

import gc

import pytest

from models_registry.importing import ImportFileError, import_models, read_source
from models_registry.tests.factories import ProviderFactory

pytestmark = pytest.mark.django_db

GOOD = b"name,provider\nmodel-a,openai\nmodel-b,openai\n"
BAD = b"name,provider\nmodel-a,openai\nbad name!,openai\n"


@pytest.fixture(autouse=True)
def collector_on():
    """Each test starts with the collector on, and leaves it as it found it."""
    was_enabled = gc.isenabled()
    gc.enable()
    yield
    if was_enabled:
        gc.enable()
    else:
        gc.disable()


def test_the_collector_is_paused_while_rows_are_checked_and_on_again_after():
    ProviderFactory(slug="openai")
    seen = []
    report = import_models(
        read_source("m.csv", GOOD), actor=None, progress=lambda done, total: seen.append(gc.isenabled())
    )
    assert report.summary() == "created=2 updated=0 unchanged=0 invalid=0"
    assert seen and not any(seen)
    assert gc.isenabled()


def test_the_collector_is_on_again_after_a_refused_import():
    ProviderFactory(slug="openai")
    report = import_models(read_source("m.csv", BAD), actor=None)
    assert not report.applied
    assert gc.isenabled()


def test_the_collector_is_on_again_after_a_file_that_cannot_be_read():
    with pytest.raises(ImportFileError):
        read_source("m.csv", b"name,provider,nonsense\nx,y,z\n")
    assert gc.isenabled()


def test_an_import_leaves_a_collector_that_was_off_off():
    ProviderFactory(slug="openai")
    gc.disable()
    import_models(read_source("m.csv", GOOD), actor=None)
    assert not gc.isenabled()


def test_the_collector_is_on_again_when_an_import_fails_midway(monkeypatch):
    ProviderFactory(slug="openai")

    def broken_apply(plan, *, actor):
        assert not gc.isenabled()
        raise RuntimeError("disk full")

    monkeypatch.setattr("models_registry.importing.apply_plan", broken_apply)
    with pytest.raises(RuntimeError):
        import_models(read_source("m.csv", GOOD), actor=None)
    assert gc.isenabled()
