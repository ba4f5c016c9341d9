"""Every management command of the project, run as an operator runs it: what it prints,
its exit status and what it changes (docs/contract.md sections 2 and 5).

Exit statuses: a CommandError carries its `returncode` (what `manage.py` exits with); an
argument the parser refuses exits 2 when run from the shell (`from_the_shell`).
"""

import csv
import datetime
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import ManagementUtility, call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from audit.models import AuditEntry, SecurityEvent
from audit.tests.factories import AuditEntryFactory
from models_registry.models import AIModel, Provider
from models_registry.services import aimodel_update
from models_registry.tests.factories import AIModelFactory, ModelDependencyFactory, ProviderFactory

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]
HistoricalAIModel = AIModel.history.model
IMPORT_COLUMNS = "name,provider,context_window"


def run(*args) -> tuple[str, str]:
    """Run a command that succeeds; (stdout, stderr)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command(*args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def fail(*args) -> tuple[CommandError, str, str]:
    """Run a command that fails; (the error, stdout, stderr)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command(*args, stdout=stdout, stderr=stderr)
    return caught.value, stdout.getvalue(), stderr.getvalue()


def from_the_shell(*argv) -> int:
    """The exit status of `manage.py ARGV...` for arguments the parser refuses."""
    with pytest.raises(SystemExit) as exited:
        ManagementUtility(["manage.py", *argv]).execute()
    return exited.value.code


def a_file(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def registry_counts() -> tuple:
    return AIModel.objects.count(), Provider.objects.count(), AuditEntry.objects.count()


# import_models


def test_import_models_applies_a_valid_file_as_the_actor_with_the_reason(tmp_path, make_user):
    make_user("admin", username="ops")
    path = a_file(tmp_path, "models.csv", f"{IMPORT_COLUMNS}\ngpt-a,openai,128000\ngpt-b,openai,\n")

    out, err = run("import_models", path, "--actor", "ops", "--reason", "quarterly sync")

    entries = AuditEntry.objects.all()
    assert out == "created=2 updated=0 unchanged=0 invalid=0\n"
    assert err == ""
    assert list(AIModel.objects.values_list("name", "provider__slug", "context_window")) == [
        ("gpt-a", "openai", 128000),
        ("gpt-b", "openai", None),
    ]
    assert sorted(entries.values_list("action", "object_type", "object_repr")) == [
        ("create", "aimodel", "gpt-a"),
        ("create", "aimodel", "gpt-b"),
        ("create", "provider", "openai"),
    ]
    assert set(entries.values_list("username", "source", "reason")) == {
        ("ops", "import", "import models.csv: quarterly sync")
    }
    assert len(set(entries.values_list("request_id", flat=True))) == 1


def test_import_models_reports_updates_and_unchanged_rows(tmp_path):
    AIModelFactory(name="gpt-a", provider=ProviderFactory(slug="openai"), context_window=8192)
    AIModelFactory(name="gpt-b", provider=Provider.objects.get(slug="openai"), context_window=None)
    path = a_file(tmp_path, "models.csv", f"{IMPORT_COLUMNS}\ngpt-a,openai,128000\ngpt-b,openai,\ngpt-c,openai,1\n")

    out, _ = run("import_models", path)

    assert out == "created=1 updated=1 unchanged=1 invalid=0\n"
    assert dict(AIModel.objects.values_list("name", "context_window")) == {"gpt-a": 128000, "gpt-b": None, "gpt-c": 1}


def test_import_models_dry_run_reports_and_changes_nothing(tmp_path):
    path = a_file(tmp_path, "models.csv", f"{IMPORT_COLUMNS}\ngpt-a,openai,128000\n")

    out, err = run("import_models", path, "--dry-run")

    assert out == "created=1 updated=0 unchanged=0 invalid=0\n"
    assert err == "Dry run: nothing was changed.\n"
    assert registry_counts() == (0, 0, 0)


def test_import_models_refuses_a_file_with_invalid_rows_exit_1(tmp_path):
    text = f"{IMPORT_COLUMNS}\ngpt-a,openai,128000\ngpt-b,openai,lots\n-bad,openai,5\n"
    path = a_file(tmp_path, "models.csv", text)

    error, out, err = fail("import_models", path)

    assert error.returncode == 1
    assert str(error) == "Nothing was applied: fix the invalid rows, or use --skip-invalid."
    assert out == "created=1 updated=0 unchanged=0 invalid=2\n"
    assert err.splitlines() == [
        "models.csv: line 3: context_window: Enter a whole number.",
        "models.csv: line 4: name: Start with a letter or digit; then letters, digits and . _ : / @ + - only.",
    ]
    assert registry_counts() == (0, 0, 0)


def test_import_models_skip_invalid_applies_the_valid_rows_and_lists_the_others(tmp_path):
    path = a_file(tmp_path, "models.csv", f"{IMPORT_COLUMNS}\ngpt-a,openai,128000\ngpt-b,openai,0\n")

    out, err = run("import_models", path, "--skip-invalid")

    assert out == "created=1 updated=0 unchanged=0 invalid=1\n"
    assert err == "models.csv: line 3: context_window: Ensure this value is greater than or equal to 1.\n"
    assert list(AIModel.objects.values_list("name", flat=True)) == ["gpt-a"]


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "The file is empty."), ("name,colour\nx,red\n", "Wrong columns (unknown columns: 'colour').")],
    ids=["empty", "wrong-columns"],
)
def test_import_models_refuses_a_bad_file_exit_2(tmp_path, text, message):
    path = a_file(tmp_path, "models.csv", text)

    error, out, _ = fail("import_models", path)

    assert error.returncode == 2
    assert str(error).startswith(f"{path}: {message}")
    assert out == ""
    assert registry_counts() == (0, 0, 0)


def test_import_models_refuses_a_missing_file_or_an_unknown_actor_exit_2(tmp_path):
    path = a_file(tmp_path, "models.csv", f"{IMPORT_COLUMNS}\ngpt-a,openai,1\n")

    missing, _, _ = fail("import_models", str(tmp_path / "nowhere.csv"))
    nobody, _, _ = fail("import_models", path, "--actor", "ghost")

    assert (missing.returncode, str(missing)) == (
        2,
        f"{tmp_path / 'nowhere.csv'}: Cannot read {tmp_path / 'nowhere.csv'}: No such file or directory.",
    )
    assert (nobody.returncode, str(nobody)) == (2, "--actor: no user named 'ghost'.")
    assert registry_counts() == (0, 0, 0)


def test_import_models_refuses_an_unknown_format_exit_2(tmp_path):
    path = a_file(tmp_path, "models.csv", f"{IMPORT_COLUMNS}\ngpt-a,openai,1\n")

    assert from_the_shell("import_models", path, "--format", "yaml") == 2
    assert registry_counts() == (0, 0, 0)


def test_import_models_reads_a_litellm_catalog(tmp_path):
    catalog = {"gpt-4o": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 2.5e-06}}
    path = a_file(tmp_path, "prices.json", json.dumps(catalog))

    out, _ = run("import_models", path, "--format", "litellm")

    assert out == "created=1 updated=0 unchanged=0 invalid=0\n"
    assert str(AIModel.objects.get(name="gpt-4o").input_cost_per_million_tokens.normalize()) == "2.5"


# export_models


@pytest.fixture
def three_models():
    openai, anthropic = ProviderFactory(slug="openai"), ProviderFactory(slug="anthropic")
    AIModelFactory(
        name="gpt-vision", provider=openai, capabilities=["vision", "streaming"], description="Multimodal flagship"
    )
    AIModelFactory(name="gpt-stream", provider=openai, capabilities=["streaming"], status="deprecated")
    AIModelFactory(name="claude", provider=anthropic, capabilities=["vision"], status="inactive")


def exported_names(capsys, *filters) -> list[str]:
    out, err = run("export_models", *filters)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert err == f"Exported {len(rows)} models.\n"
    return [row["name"] for row in rows]


def test_export_models_writes_csv_to_standard_output(capsys, three_models):
    out, _ = run("export_models")

    assert out.splitlines()[0] == (
        "name,display_name,provider,model_type,capabilities,context_window,max_output_tokens,"
        "input_cost_per_million_tokens,output_cost_per_million_tokens,status,deprecation_date,sunset_date,successor,"
        "description,aliases,industries,metadata"
    )
    assert [row["name"] for row in csv.DictReader(io.StringIO(out))] == ["claude", "gpt-stream", "gpt-vision"]


@pytest.mark.parametrize(
    ("filters", "names"),
    [
        (["--provider", "openai"], ["gpt-stream", "gpt-vision"]),
        (["--provider", "openai", "--provider", "anthropic"], ["claude", "gpt-stream", "gpt-vision"]),
        (["--status", "deprecated", "--status", "inactive"], ["claude", "gpt-stream"]),
        (["--capability", "vision"], ["claude", "gpt-vision"]),
        (["--capability", "vision", "--capability", "streaming"], ["gpt-vision"]),
        (["--search", "MULTIMODAL"], ["gpt-vision"]),
        (["--search", "gpt", "--status", "active"], ["gpt-vision"]),
        (["--name", "CLAUDE"], ["claude"]),
        (["--ordering=-name"], ["gpt-vision", "gpt-stream", "claude"]),
    ],
)
def test_export_models_selects_with_the_list_filters(capsys, three_models, filters, names):
    assert exported_names(capsys, *filters) == names


def test_export_models_capability_filter_matches_whole_capability_names(capsys):
    AIModelFactory(name="parallel-only", capabilities=["parallel_function_calling"])
    AIModelFactory(name="both", capabilities=["function_calling", "parallel_function_calling"])

    assert exported_names(capsys, "--capability", "function_calling") == ["both"]


@pytest.mark.parametrize(
    ("filters", "option"),
    [
        (["--status", "retired"], "--status"),
        (["--capability", "telepathy"], "--capability"),
        (["--min-context-window", "lots"], "--min-context-window"),
        (["--updated-since", "last tuesday"], "--updated-since"),
    ],
)
def test_export_models_refuses_a_bad_filter_value_exit_2(capsys, three_models, filters, option):
    error, _, _ = fail("export_models", *filters)

    assert error.returncode == 2
    assert str(error).startswith(f"{option}: ")
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
def test_export_models_writes_each_format_to_a_file(tmp_path, three_models, fmt):
    path = tmp_path / f"models.{fmt}"

    _, err = run("export_models", "--format", fmt, "--output", str(path), "--provider", "openai")

    if fmt == "csv":
        names = [row["name"] for row in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")))]
    elif fmt == "json":
        names = [item["name"] for item in json.loads(path.read_text(encoding="utf-8"))]
    else:
        rows = list(load_workbook(path, read_only=True).worksheets[0].iter_rows(values_only=True))
        names = [row[0] for row in rows[1:]]
    assert names == ["gpt-stream", "gpt-vision"]
    assert err == "Exported 2 models.\n"


def test_export_models_xlsx_needs_an_output_file_and_a_writable_one(tmp_path, three_models):
    to_stdout, _, _ = fail("export_models", "--format", "xlsx")
    unwritable, _, _ = fail("export_models", "--output", str(tmp_path / "no-such-dir" / "models.csv"))

    assert (to_stdout.returncode, str(to_stdout)) == (2, "--format xlsx needs --output FILE.")
    assert unwritable.returncode == 2
    assert str(unwritable).startswith(f"Cannot write {tmp_path / 'no-such-dir' / 'models.csv'}: ")


def test_export_models_refuses_an_unknown_format_exit_2():
    assert from_the_shell("export_models", "--format", "yaml") == 2


@pytest.mark.parametrize(
    ("command", "options"),
    [("export_models", ["--format", "json", "--provider", "anthropic"]), ("audit_log", ["--format", "json"])],
)
def test_streaming_commands_write_to_the_stdout_they_are_given(three_models, command, options):
    # Commands report through self.stdout, so `call_command(..., stdout=...)`
    # (and anything that wraps a command) receives what they print.
    out, _ = run(command, *options)

    assert out.strip(), f"{command} printed nothing to the stdout it was given"


def manage_py(*argv, database: Path, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    """`manage.py ARGV...` run as an operator runs it, in its own process, on `database`
    (and the in-process cache, so that it shares nothing with the tests' Redis)."""
    environment = {name: value for name, value in os.environ.items() if name != "REDIS_URL"}
    environment |= {"DJANGO_SETTINGS_MODULE": "llm_admin.test_settings", "DATABASE_URL": f"sqlite:///{database}"}
    return subprocess.run(
        [sys.executable, str(REPO / "manage.py"), *argv],
        stdout=stdout,
        stderr=subprocess.PIPE,
        env=environment,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def catalog_database(tmp_path_factory) -> Path:
    """A SQLite file of its own with the starter catalog and its audit entries."""
    database = tmp_path_factory.mktemp("operator") / "registry.sqlite3"
    for argv in (["migrate", "--noinput"], ["load_starter_catalog"]):
        finished = manage_py(*argv, database=database)
        assert finished.returncode == 0, finished.stderr.decode()
    return database


@pytest.mark.parametrize(
    "argv",
    [["help"], ["check"], ["export_models", "--format", "json"], ["audit_log"], ["audit_log", "--format", "json"]],
)
def test_a_command_whose_reader_goes_away_stops_quietly_with_exit_1(catalog_database, argv):
    # As in `manage.py audit_log | head -1`: the reader is gone before the first line.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        finished = manage_py(*argv, database=catalog_database, stdout=write_end)
    finally:
        os.close(write_end)

    assert (finished.returncode, finished.stderr.decode()) == (1, "")


# set_model_status


def test_set_model_status_changes_every_named_model_in_one_audited_run(make_user):
    make_user("admin", username="ops")
    AIModelFactory(name="gpt-a", aliases=["gpt-a-latest"])
    AIModelFactory(name="gpt-b")
    AIModelFactory(name="gpt-c", status="deprecated")
    before = AuditEntry.objects.count()
    names = ["GPT-A-LATEST", "gpt-b", "gpt-c"]

    out, _ = run("set_model_status", *names, "--status", "deprecated", "--reason", "EOL", "--actor", "ops")

    entries = list(AuditEntry.objects.order_by("id")[before:])
    assert out == "gpt-a: active -> deprecated\ngpt-b: active -> deprecated\ngpt-c: already deprecated\n"
    assert dict(AIModel.objects.values_list("name", "status")) == {
        "gpt-a": "deprecated",
        "gpt-b": "deprecated",
        "gpt-c": "deprecated",
    }
    assert [(e.action, e.object_repr, e.changes) for e in entries] == [
        ("update", "gpt-a", {"status": {"old": "active", "new": "deprecated"}}),
        ("update", "gpt-b", {"status": {"old": "active", "new": "deprecated"}}),
    ]
    assert {(e.username, e.source, e.reason) for e in entries} == {("ops", "cli", "EOL")}
    assert len({e.request_id for e in entries}) == 1
    history = HistoricalAIModel.objects.filter(history_type="~")
    assert set(history.values_list("history_source", "history_request_id", "history_username")) == {
        ("cli", entries[0].request_id, "ops")
    }


def test_each_set_model_status_run_has_its_own_request_id():
    AIModelFactory(name="gpt-a")

    run("set_model_status", "gpt-a", "--status", "inactive")
    run("set_model_status", "gpt-a", "--status", "active")

    entries = AuditEntry.objects.filter(object_type="aimodel", action="update")
    assert entries.count() == 2
    assert len(set(entries.values_list("request_id", flat=True))) == 2
    assert set(entries.values_list("username", "source")) == {("", "cli")}


def test_set_model_status_refuses_an_unknown_name_and_changes_nothing_exit_1():
    AIModelFactory(name="gpt-a")
    before = registry_counts()

    error, out, _ = fail("set_model_status", "gpt-a", "ghost", "--status", "inactive")

    assert (error.returncode, str(error)) == (1, "Nothing changed:\n  ghost: no model has this name or alias")
    assert out == ""
    assert AIModel.objects.get(name="gpt-a").status == "active"
    assert registry_counts() == before


def test_set_model_status_refuses_an_unknown_actor_or_status_exit_2():
    AIModelFactory(name="gpt-a")

    nobody, _, _ = fail("set_model_status", "gpt-a", "--status", "inactive", "--actor", "ghost")

    assert (nobody.returncode, str(nobody)) == (2, "--actor: no user named 'ghost'.")
    assert from_the_shell("set_model_status", "gpt-a", "--status", "retired") == 2
    assert AIModel.objects.get(name="gpt-a").status == "active"


# model_dependencies


def test_model_dependencies_lists_what_uses_a_model_and_exits_1():
    model = AIModelFactory(name="gpt-a")
    ModelDependencyFactory(model=model, component_type="agent", component_id="support-bot", component_name="Support")
    ModelDependencyFactory(model=model, component_type="workflow", component_id="wf-7", component_name="")
    older = AIModelFactory(name="older")
    aimodel_update(model=older, actor=None, successor=model)
    stdout = io.StringIO()

    with pytest.raises(SystemExit) as exited:
        call_command("model_dependencies", "GPT-A", stdout=stdout)

    first, *listed = stdout.getvalue().splitlines()
    assert exited.value.code == 1
    assert first == "gpt-a: 3 dependencies"
    assert sorted(listed) == sorted(
        ["  agent:support-bot  Support", "  workflow:wf-7", f"  aimodel.successor:{older.pk}  older"]
    )


def test_model_dependencies_exits_0_for_a_model_nothing_uses():
    AIModelFactory(name="gpt-b", aliases=["gpt-b-latest"])

    out, _ = run("model_dependencies", "gpt-b-latest")

    assert out == "gpt-b: no dependencies\n"


def test_model_dependencies_refuses_an_unknown_name_exit_2():
    error, _, _ = fail("model_dependencies", "ghost")

    assert (error.returncode, str(error)) == (2, "No model named 'ghost'.")


# audit_log


def at(day: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(f"{day}T12:00:00+00:00")


@pytest.fixture
def three_entries():
    return [
        AuditEntryFactory(
            timestamp=at("2024-01-10"), username="alice", action="create", object_type="aimodel", object_id="1",
            object_repr="=HYPERLINK()", source="api", reason="new",
        ),
        AuditEntryFactory(
            timestamp=at("2024-06-10"), username="bob", action="update", object_type="provider", object_id="2",
            object_repr="openai", source="cli",
        ),
        AuditEntryFactory(
            timestamp=at("2025-01-10"), username="", action="delete", object_type="aimodel", object_id="1",
            object_repr="gpt-a", source="admin", changes={"name": {"old": "gpt-a", "new": None}},
        ),
    ]  # fmt: skip


def audit_rows(capsys, *args) -> list[dict]:
    out, _ = run("audit_log", *args)
    return list(csv.DictReader(io.StringIO(out)))


def test_audit_log_prints_csv_newest_first(capsys, three_entries):
    old, middle, new = three_entries

    rows = audit_rows(capsys)

    assert list(rows[0]) == [
        "id", "timestamp", "user", "action", "object_type", "object_id", "object_repr", "changes", "reason",
        "source", "request_id",
    ]  # fmt: skip
    assert [row["id"] for row in rows] == [str(new.pk), str(middle.pk), str(old.pk)]
    assert rows[2] | {"id": None, "request_id": None} == {
        "id": None,
        "timestamp": "2024-01-10T12:00:00+00:00",
        "user": "alice",
        "action": "create",
        "object_type": "aimodel",
        "object_id": "1",
        "object_repr": "'=HYPERLINK()",  # a spreadsheet would run it: escaped
        "changes": '{"status": {"new": "inactive", "old": "active"}}',
        "reason": "new",
        "source": "api",
        "request_id": None,
    }


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (["--user", "alice"], [0]),
        (["--object-type", "aimodel"], [2, 0]),
        (["--object-type", "aimodel", "--object-id", "1", "--action", "delete"], [2]),
        (["--source", "cli"], [1]),
        (["--since", "2024-03-01T00:00:00Z"], [2, 1]),
        (["--since", "2024-03-01T00:00:00Z", "--until", "2024-12-31T00:00:00Z"], [1]),
    ],
)
def test_audit_log_filters_as_the_api_does(capsys, three_entries, filters, expected):
    rows = audit_rows(capsys, *filters)

    assert [row["id"] for row in rows] == [str(three_entries[index].pk) for index in expected]


def test_audit_log_prints_json_lines(capsys, three_entries):
    out, _ = run("audit_log", "--format", "json", "--object-type", "aimodel")

    lines = [json.loads(line) for line in out.splitlines()]
    assert [(line["id"], line["user"], line["action"], line["object_repr"]) for line in lines] == [
        (three_entries[2].pk, None, "delete", "gpt-a"),
        (three_entries[0].pk, "alice", "create", "=HYPERLINK()"),
    ]
    assert lines[0]["changes"] == {"name": {"old": "gpt-a", "new": None}}
    assert lines[0]["timestamp"] == "2025-01-10T12:00:00+00:00"
    assert set(lines[0]) == {
        "id", "timestamp", "user", "action", "object_type", "object_id", "object_repr", "changes", "reason",
        "source", "request_id",
    }  # fmt: skip


def test_audit_log_refuses_a_bad_filter_exit_2(capsys, three_entries):
    error, _, _ = fail("audit_log", "--since", "last tuesday")

    assert error.returncode == 2
    assert str(error).startswith("--since: ")
    assert from_the_shell("audit_log", "--action", "explode") == 2


# prune_history


@pytest.fixture
def old_and_new_history():
    """Two models changed before a cutoff, one of them changed again after it."""
    provider = ProviderFactory(slug="openai")
    quiet = AIModelFactory(name="quiet", provider=provider)
    busy = AIModelFactory(name="busy", provider=provider, display_name="v1")
    busy = aimodel_update(model=busy, actor=None, display_name="v2")
    cutoff = timezone.now()
    old_entries = AuditEntry.objects.count()
    aimodel_update(model=busy, actor=None, display_name="v3")
    return quiet, busy, cutoff, old_entries


def test_prune_history_dry_run_counts_what_it_would_delete_and_deletes_nothing(old_and_new_history):
    _, _, cutoff, old_entries = old_and_new_history
    before = (AuditEntry.objects.count(), HistoricalAIModel.objects.count())

    out, _ = run("prune_history", "--before", cutoff.isoformat(), "--dry-run")

    lines = out.splitlines()
    assert f"audit.AuditEntry: would delete {old_entries}" in lines
    assert "models_registry.HistoricalAIModel: would delete 2" in lines
    assert "models_registry.HistoricalProvider: would delete 0" in lines
    assert (AuditEntry.objects.count(), HistoricalAIModel.objects.count()) == before


def test_prune_history_deletes_old_rows_keeps_each_latest_record_and_audits_itself(old_and_new_history, make_user):
    make_user("admin", username="ops")
    quiet, _, cutoff, old_entries = old_and_new_history

    out, _ = run("prune_history", "--before", cutoff.isoformat(), "--actor", "ops", "--reason", "retention")

    assert f"audit.AuditEntry: deleted {old_entries}" in out.splitlines()
    assert "models_registry.HistoricalAIModel: deleted 2" in out.splitlines()
    # quiet keeps its only (latest) record; busy keeps only what came after the cutoff.
    assert sorted(HistoricalAIModel.objects.values_list("name", "history_type", "display_name")) == [
        ("busy", "~", "v3"),
        ("quiet", "+", quiet.display_name),
    ]
    assert Provider.history.count() == 1
    remaining = list(AuditEntry.objects.order_by("id"))
    assert [(e.action, e.object_type, e.object_repr) for e in remaining] == [
        ("update", "aimodel", "busy"),
        ("delete", "history", f"history before {cutoff.isoformat()}"),
    ]
    record = remaining[1]
    assert (record.username, record.source, record.reason, record.object_id) == (
        "ops",
        "cli",
        "retention",
        cutoff.isoformat(),
    )
    start = record.changes.pop("audit chain start")["new"]
    assert record.changes == {
        "audit.AuditEntry": {"old": old_entries, "new": 0},
        "audit.AuditLink": {"old": old_entries, "new": 0},
        "models_registry.HistoricalAIModel": {"old": 2, "new": 0},
    }
    # The kept chain starts after the last link pruned, which the run names.
    assert (start["position"], len(start["digest"])) == (old_entries, 64)
    out, _ = run("verify_audit_log")
    assert out.strip().endswith(": intact")


@pytest.mark.parametrize("before", ["yesterday", "2999-01-01"], ids=["not-a-date", "future"])
def test_prune_history_refuses_a_bad_cutoff_exit_2(old_and_new_history, before):
    counts = (AuditEntry.objects.count(), HistoricalAIModel.objects.count())

    error, _, _ = fail("prune_history", "--before", before)

    assert error.returncode == 2
    assert (AuditEntry.objects.count(), HistoricalAIModel.objects.count()) == counts


# verify_audit_log


def test_verify_audit_log_exits_0_for_an_intact_chain_and_1_naming_an_entry_inserted_out_of_band():
    aimodel_update(model=AIModelFactory(name="chained"), actor=None, display_name="Changed")

    out, _ = run("verify_audit_log")
    assert out.strip().endswith(": intact")

    forged = AuditEntryFactory()
    error, out, _ = fail("verify_audit_log")
    assert error.returncode == 1
    assert out.splitlines()[0] == f"inserted: entry {forged.pk} was inserted out of band (it has no link)"


# create_app_db_role and migrate (the database roles: audit/tests/test_database_guard.py on PostgreSQL)


@pytest.mark.parametrize(
    "args",
    [["llm_admin_app", "--password-from-env", "LLM_ADMIN_NO_SUCH_VARIABLE"], ["Not A Role!"]],
    ids=["password-variable-unset", "bad-name-or-not-postgresql"],
)
def test_create_app_db_role_refuses_bad_input_exit_2(args):
    error, _, _ = fail("create_app_db_role", *args)

    assert error.returncode == 2


def test_migrate_with_nothing_to_apply_changes_nothing():
    counts = (AuditEntry.objects.count(), AIModel.objects.count())

    out, _ = run("migrate", "--noinput")

    assert "No migrations to apply." in out
    assert (AuditEntry.objects.count(), AIModel.objects.count()) == counts


# ensure_admin_login


def test_ensure_admin_login_creates_one_superuser_once_and_prints_the_login():
    User = get_user_model()

    first, _ = run("ensure_admin_login")
    second, _ = run("ensure_admin_login")

    username = re.search(r"^  username: (\S+)$", first, re.MULTILINE)[1]
    password = re.search(r"^  password: (\S+)$", first, re.MULTILINE)[1]
    admin = User.objects.get(is_superuser=True)
    assert (username, admin.username) == ("admin", "admin")
    assert admin.check_password(password)
    assert len(password) >= 12
    assert second == "Admin login exists: admin (password unchanged).\n"
    assert User.objects.filter(is_superuser=True).count() == 1
    assert User.objects.get(pk=admin.pk).check_password(password)


def test_ensure_admin_login_leaves_an_existing_superuser_alone():
    User = get_user_model()
    User.objects.create_superuser(username="root", password="kept secret")

    out, _ = run("ensure_admin_login", "--username", "someone")

    assert out == "Admin login exists: root (password unchanged).\n"
    assert list(User.objects.values_list("username", flat=True)) == ["root"]


# load_starter_catalog


def test_load_starter_catalog_adds_the_catalog_once_and_restores_edited_models():
    catalog = json.loads((REPO / "models_registry" / "data" / "starter_catalog.json").read_text(encoding="utf-8"))
    models = len(catalog["models"])
    edited = catalog["models"][0]

    first, _ = run("load_starter_catalog")
    entries = AuditEntry.objects.count()
    again, _ = run("load_starter_catalog")
    unchanged_entries = AuditEntry.objects.count()
    run("set_model_status", edited["name"], "--status", "inactive" if edited["status"] != "inactive" else "active")
    restored, _ = run("load_starter_catalog")

    assert first == f"Starter catalog: created={models} updated=0 unchanged=0 invalid=0\n"
    assert again == f"Starter catalog: created=0 updated=0 unchanged={models} invalid=0\n"
    assert restored == f"Starter catalog: created=0 updated=1 unchanged={models - 1} invalid=0\n"
    assert unchanged_entries == entries
    assert set(AIModel.objects.values_list("name", flat=True)) == {model["name"] for model in catalog["models"]}
    assert dict(Provider.objects.values_list("slug", "name")) == {p["slug"]: p["name"] for p in catalog["providers"]}
    assert AIModel.objects.get(name=edited["name"]).status == edited["status"]


# Service accounts and tokens (docs/contract.md section 2): the last line of stdout is the token.


def last_line(text: str) -> str:
    return text.rstrip("\n").split("\n")[-1]


def models_listing_status(token: str) -> int:
    return Client(raise_request_exception=False).get("/v1/models", HTTP_AUTHORIZATION=f"Bearer {token}").status_code


def test_create_service_account_creates_a_role_user_and_prints_a_working_token():
    out, _ = run("create_service_account", "billing-bot", "--role", "viewer")
    again, _ = run("create_service_account", "billing-bot", "--role", "editor")

    user = get_user_model().objects.get(username="billing-bot")
    assert re.fullmatch(r"\S{20,}", last_line(out))
    assert last_line(again) != last_line(out)
    assert list(user.groups.values_list("name", flat=True)) == ["Model Editors"]
    assert (user.is_staff, user.is_superuser, user.has_usable_password()) == (False, False, False)
    assert models_listing_status(last_line(out)) == 200
    assert from_the_shell("create_service_account", "x", "--role", "owner") == 2


def test_create_api_token_prints_a_token_for_an_existing_user(make_user):
    make_user("viewer", username="reader")

    out, _ = run("create_api_token", "reader", "--expires-in-days", "7")
    missing, _, _ = fail("create_api_token", "ghost")
    too_short, _, _ = fail("create_api_token", "reader", "--expires-in-days", "0")

    assert models_listing_status(last_line(out)) == 200
    assert (missing.returncode, str(missing)) == (2, "No user named 'ghost'.")
    assert too_short.returncode == 2
    assert SecurityEvent.objects.filter(event="token_created", username="reader").count() == 1


def test_revoke_api_tokens_revokes_every_token_of_the_user(make_user):
    make_user("viewer", username="reader")
    tokens = [last_line(run("create_api_token", "reader")[0]) for _ in range(2)]

    out, _ = run("revoke_api_tokens", "reader")
    missing, _, _ = fail("revoke_api_tokens", "ghost")

    assert out == "Revoked 2 token(s) of 'reader'.\n"
    # A revoked token is refused like any unknown one: 401, not a server error.
    assert [models_listing_status(token) for token in tokens] == [401, 401]
    assert (missing.returncode, str(missing)) == (2, "No user named 'ghost'.")


# Meta: every command has a test here.


def project_commands() -> set[str]:
    """Every management command module of the project's own apps (not of the virtualenv)."""
    commands = set()
    for path in REPO.glob("*/management/commands/*.py"):
        if path.name != "__init__.py" and not path.name.startswith("_"):
            commands.add(path.stem)
    return commands


def test_every_command_of_the_project_is_run_by_a_test():
    """Here, or in the tests of the app that owns it (the worker's, the webhooks')."""
    root = Path(__file__).resolve().parents[2]
    source = "\n".join(path.read_text(encoding="utf-8") for path in root.glob("*/tests/test_*.py"))
    run_here = set(re.findall(r'(?:run|fail|call_command|from_the_shell)\(\s*"([a-z_]+)"', source))
    run_here |= set(re.findall(r'"manage\.py", "([a-z_]+)"', source))

    commands = project_commands()

    assert {"import_models", "export_models", "audit_log", "prune_history"} <= commands
    assert commands - run_here == set(), "commands without a test"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_import_models_draws_a_progress_bar_on_a_terminal_for_long_imports():
    from models_registry.management.commands.import_models import Command as ImportModels

    command = ImportModels(stdout=io.StringIO(), stderr=Terminal())
    show = command.progress_bar(2000)

    show(1000, 2000)
    show(2000, 2000)

    drawn = command.stderr.getvalue()  # (the wrapped stream's)
    assert "\rChecking rows [###############...............] 1,000/2,000" in drawn
    assert "Checked 2,000 rows; writing…" in drawn


def test_import_models_draws_no_progress_bar_when_not_at_a_terminal_or_for_short_files():
    from models_registry.importing.plan import no_progress
    from models_registry.management.commands.import_models import Command as ImportModels

    assert ImportModels(stderr=io.StringIO()).progress_bar(50_000) is no_progress
    assert ImportModels(stderr=Terminal()).progress_bar(999) is no_progress
