"""`manage.py catalog_drift FILE` (docs/contract.md §7, "Lifecycle"): the registry compared
with an upstream catalog, changing nothing. Checked with the shared LiteLLM catalog (three
providers of it, and the aliases that name their models) against an older state of it made
here: entries it did not have yet, prices it had different, a model it had that is gone now."""

import io
import json
from decimal import Decimal
from pathlib import Path

import orjson
import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEntry
from models_registry.importing import import_models, read_path
from models_registry.models import AIModel
from models_registry.tests.factories import AIModelFactory

SHARED_CATALOG = Path("shared/data/litellm_model_catalog.json")
# Beside the checkout (/work/main -> /work/shared), or beside a worktree's parent folder.
CATALOG = next(
    (folder / SHARED_CATALOG for folder in Path(__file__).resolve().parents[3:5] if (folder / SHARED_CATALOG).exists()),
    Path(__file__).resolve().parents[3] / SHARED_CATALOG,
)
PROVIDERS = {"openai", "mistral", "xai"}
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not CATALOG.exists(), reason=f"the LiteLLM catalog is not at {CATALOG}"),
]


def upstream_now() -> dict:
    catalog = json.loads(CATALOG.read_text())
    kept = {name: entry for name, entry in catalog.items()
            if isinstance(entry, dict) and entry.get("litellm_provider") in PROVIDERS}  # fmt: skip
    aliases = {name: entry for name, entry in catalog.items()
               if isinstance(entry, dict) and entry.get("alias_of") in kept}  # fmt: skip
    return kept | aliases


def priced_chat_models(catalog: dict) -> list[str]:
    return sorted(
        name
        for name, entry in catalog.items()
        if entry.get("mode") == "chat" and entry.get("input_cost_per_token") and "alias_of" not in entry
    )


def write(tmp_path, name: str, catalog: dict) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(catalog))
    return path


def drift(path: Path, *args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("catalog_drift", str(path), *args, stdout=out, stderr=err)
        code = 0
    except CommandError as error:
        code = error.returncode
        err.write(str(error))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def catalogs(tmp_path):
    """(the catalog now, its file, the older state imported into the registry, what was made different)."""
    now = upstream_now()
    chat = priced_chat_models(now)
    arrived, repriced = chat[:4], chat[10:13]
    older = {name: dict(entry) for name, entry in now.items() if name not in arrived}
    for name in repriced:
        older[name]["input_cost_per_token"] = now[name]["input_cost_per_token"] * 2
    older["acme-retired-chat"] = {"litellm_provider": "openai", "mode": "chat", "max_input_tokens": 4096}
    report = import_models(read_path(str(write(tmp_path, "older.json", older))), actor=None, skip_invalid=True)
    assert report.applied
    return now, write(tmp_path, "now.json", now), arrived, repriced


def test_drift_lists_what_is_new_changed_and_gone_upstream_and_exits_1(catalogs):
    now, path, arrived, repriced = catalogs
    entries_before = AuditEntry.objects.count()

    code, out, _ = drift(path, "--format", "json")
    report = orjson.loads(out)

    assert code == 1
    assert report["new"] == sorted(arrived, key=str.lower)
    assert report["gone"] == ["acme-retired-chat"]
    assert [item["name"] for item in report["changed"]] == sorted(repriced, key=str.lower)
    for item in report["changed"]:
        price = Decimal(str(now[item["name"]]["input_cost_per_token"])) * 1_000_000
        assert item["changes"] == {
            "input_cost_per_million_tokens": {
                "registry": str((price * 2).normalize()),
                "upstream": str(price.normalize()),
            }
        }
    assert AuditEntry.objects.count() == entries_before  # it changed nothing


def test_after_importing_the_catalog_the_registry_is_in_sync_and_exits_0(catalogs):
    _, path, _, _ = catalogs
    AIModel.objects.filter(name="acme-retired-chat").update(status="inactive")  # retired: not "gone" any more
    import_models(read_path(str(path)), actor=None, skip_invalid=True)

    code, out, _ = drift(path)

    assert code == 0
    assert out.splitlines()[0].startswith("new=0 changed=0 gone=0")
    assert out.splitlines()[-1] == "In sync."


def test_the_text_report_shows_each_difference(catalogs):
    _, path, arrived, repriced = catalogs

    code, out, _ = drift(path)

    assert code == 1
    assert out.splitlines()[0].startswith(f"new={len(arrived)} changed={len(repriced)} gone=1")
    assert all(f"+ {name}" in out for name in arrived)
    assert all(f"~ {name}: input_cost_per_million_tokens: " in out for name in repriced)
    assert "- acme-retired-chat" in out


def test_models_of_providers_the_file_does_not_cover_are_not_gone(tmp_path):
    AIModelFactory(name="in-house-model")  # its provider is in no upstream file
    path = write(tmp_path, "one.json", {"gpt-x": {"litellm_provider": "openai", "mode": "chat"}})

    code, out, _ = drift(path, "--format", "json")

    assert code == 1 and orjson.loads(out)["gone"] == [] and orjson.loads(out)["new"] == ["gpt-x"]


def test_rows_the_registry_cannot_take_are_reported_not_counted_as_drift(tmp_path):
    AIModelFactory(name="gpt-x")
    upstream = {"gpt-x": {"litellm_provider": "openai", "mode": "chat"}, "bad name!": {"litellm_provider": "openai"}}
    import_models(read_path(str(write(tmp_path, "first.json", upstream))), actor=None, skip_invalid=True)

    code, out, _ = drift(write(tmp_path, "again.json", upstream), "--format", "json")

    (invalid,) = orjson.loads(out)["invalid"]
    assert code == 0
    assert invalid["name"] == "bad name!" and "name" in invalid["errors"]


@pytest.mark.parametrize("content", [None, b"{not json", b"[1, 2]", b"{}", b'{"bad name!": {"mode": "chat"}}'])
def test_a_file_that_cannot_be_read_exits_2_changing_nothing(tmp_path, content):
    path = tmp_path / "catalog.json"
    if content is not None:
        path.write_bytes(content)

    code, _, err = drift(path)

    assert code == 2 and err


@pytest.mark.django_db(transaction=True)
def test_the_command_compares_outside_any_test_transaction(tmp_path):
    """As on a schedule: no transaction around the command (the plan's locking read needs its own)."""
    AIModelFactory(name="gpt-x")
    path = write(tmp_path, "one.json", {"gpt-x": {"litellm_provider": "openai", "mode": "chat"}})

    code, out, _ = drift(path, "--format", "json")

    assert code == 1 and orjson.loads(out)["changed"][0]["name"] == "gpt-x"
