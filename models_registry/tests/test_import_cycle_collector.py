"""The import_models command pauses Python's cycle collector while it reads and imports a
file, and always turns it back on. The admin's import pages never pause it: inside a web
request the collector is the whole server process's, shared with every other request."""

import gc
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from models_registry import importing
from models_registry.importing import readers
from models_registry.importing.plan import Planner
from models_registry.models import AIModel
from models_registry.tests.factories import ProviderFactory

pytestmark = pytest.mark.django_db

GOOD = "name,provider\nmodel-a,openai\nmodel-b,openai\n"
BAD = "name,provider\nmodel-a,openai\nbad name!,openai\n"


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


@pytest.fixture
def collector_seen(monkeypatch) -> list[bool]:
    """Whether the collector was on as the file was read, its rows checked (and new models
    written meanwhile), and the rest applied."""
    seen = []
    for module, name in [(readers, "_read_csv"), (Planner, "run"), (importing, "apply_plan")]:
        original = getattr(module, name)

        def watched(*args, _original=original, **kwargs):
            seen.append(gc.isenabled())
            return _original(*args, **kwargs)

        monkeypatch.setattr(module, name, watched)
    return seen


def a_csv(tmp_path, text: str) -> str:
    path = tmp_path / "m.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def run_import(*args) -> None:
    call_command("import_models", *args, stdout=io.StringIO(), stderr=io.StringIO())


def test_the_command_pauses_the_collector_while_it_reads_checks_and_applies_and_turns_it_on_after(
    tmp_path, collector_seen
):
    ProviderFactory(slug="openai")

    run_import(a_csv(tmp_path, GOOD))

    assert AIModel.objects.count() == 2
    assert collector_seen == [False, False, False]
    assert gc.isenabled()


def test_the_collector_is_on_again_after_a_refused_import(tmp_path):
    ProviderFactory(slug="openai")
    with pytest.raises(CommandError):
        run_import(a_csv(tmp_path, BAD))
    assert gc.isenabled()


def test_the_collector_is_on_again_after_a_file_that_cannot_be_read(tmp_path):
    with pytest.raises(CommandError):
        run_import(a_csv(tmp_path, "name,provider,nonsense\nx,y,z\n"))
    assert gc.isenabled()


def test_an_import_leaves_a_collector_that_was_off_off(tmp_path):
    ProviderFactory(slug="openai")
    gc.disable()
    run_import(a_csv(tmp_path, GOOD))
    assert not gc.isenabled()


def test_the_collector_is_on_again_when_an_import_fails_midway(tmp_path, monkeypatch):
    ProviderFactory(slug="openai")

    def broken_apply(plan, *, actor):
        assert not gc.isenabled()
        raise RuntimeError("disk full")

    monkeypatch.setattr("models_registry.importing.apply_plan", broken_apply)
    with pytest.raises(RuntimeError):
        run_import(a_csv(tmp_path, GOOD))
    assert gc.isenabled()


def test_the_admins_import_pages_never_pause_the_collector(make_user, collector_seen):
    ProviderFactory(slug="openai")
    client = Client()
    client.force_login(make_user("admin", is_staff=True))

    preview = client.post(
        reverse("admin:models_registry_aimodel_import"),
        {"file": SimpleUploadedFile("m.csv", GOOD.encode()), "format": ""},
    )
    done = client.post(reverse("admin:models_registry_aimodel_import_confirm"), {"token": preview.context["token"]})

    assert done.status_code == 200
    assert done.context["report"].applied
    assert AIModel.objects.count() == 2
    # Read and checked for the preview, read, checked and applied on confirming.
    assert collector_seen == [True, True, True, True, True]
