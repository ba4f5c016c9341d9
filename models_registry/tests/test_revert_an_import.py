"""Reverting a whole import, of any size the importer takes (docs/contract.md §7,
"Lifecycle"; docs/architecture.md "Revert and restore"): `POST
/api/v1/audit/requests/{request_id}/revert` undoes the models it created, the models it
updated and their industry profiles in one transaction, set-based (a number of queries that
does not grow with the rows), validated, with one entry per object changed back, and still
refuses (409) what changed since unless forced; the admin's preview of it is a summary."""

import csv
import io
import json
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from audit.context import change_context
from audit.models import AuditEntry
from models_registry.admin.revert import PREVIEW_STEPS
from models_registry.exporting import export_queryset, model_values
from models_registry.importing import import_models, read_source
from models_registry.models import AIModel, Industry, Provider
from models_registry.resources import COLUMNS
from models_registry.tests.admin_pages import page_of, staff

pytestmark = pytest.mark.django_db

HEALTHCARE = {"phi_allowed": False, "requires_baa": True}


@pytest.fixture
def admin(api_as):
    return api_as("admin", username="ada")


def row(number: int, *, edited: bool = False, provider: str = "openai", **cells) -> dict:
    """A model of the file as a spreadsheet holds it; `edited`: as the second import has it."""
    industries = [[], [{"industry": "general"}], [{"industry": "healthcare", "settings": HEALTHCARE}]][number % 3]
    if edited and number % 3 == 1:  # one profile changed, one added
        industries = [{"industry": "general", "enabled": False}, {"industry": "retail"}]
    elif edited and number % 3 == 2:  # the profile removed
        industries = []
    values = {
        "name": f"m-{number:05d}",
        "display_name": f"Model {number}" + (" (new)" if edited else ""),
        "provider": provider,
        "model_type": "chat",
        "capabilities": "",
        "context_window": str(8192 * (2 if edited and number % 2 else 1)),
        "max_output_tokens": "",
        "input_cost_per_million_tokens": "1.25" if edited else "0.5",
        "output_cost_per_million_tokens": "",
        "status": "active",
        "deprecation_date": "2031-01-31" if edited and number % 4 == 0 else "",
        "sunset_date": "",
        "successor": "",
        "description": "",
        "aliases": f"m-{number:05d}-latest" if edited and number % 5 == 0 else "",
        "industries": json.dumps(industries),
        "metadata": json.dumps({"n": number}),
    }
    return values | cells


def import_rows(rows: list[dict], request_id: str) -> None:
    stream = io.StringIO()
    writer = csv.DictWriter(stream, COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    with change_context(request_id=request_id):
        report = import_models(read_source(f"{request_id}.csv", stream.getvalue().encode()), actor=None)
    assert report.applied and not report.invalid_rows, [r.errors for r in report.invalid_rows[:3]]


def described() -> dict:
    """Every model's described fields (the export's columns), and the providers."""
    models = {model.pk: model_values(model) for model in export_queryset(AIModel.objects.all())}
    return {"models": models, "providers": sorted(Provider.objects.values_list("slug", flat=True))}


def an_import_of(rows: int, prefix: str = "") -> tuple[str, dict]:
    """The registry holds rows/2 models; an import updates them (fields and profiles) and
    creates rows/2 more (some with profiles, one under a new provider, one the successor an
    updated model now names). Returns the import's request id, and the registry before it."""
    half = rows // 2
    Provider.objects.get_or_create(slug="openai", defaults={"name": "OpenAI"})
    import_rows([row(n) for n in range(half)], request_id=f"{prefix}seed")
    before = described()
    created = [row(n) for n in range(half, rows)]
    created[0] |= {"provider": f"{prefix}newcorp"}
    updated = [row(n, edited=True) for n in range(half)]
    updated[0] |= {"successor": created[1]["name"]}
    import_rows(updated + created, request_id=f"{prefix}import")
    return f"{prefix}import", before


def revert_request(client, request_id: str, body=None):
    path = f"/api/v1/audit/requests/{request_id}/revert"
    return client.post(path, data=json.dumps(body or {}), content_type="application/json")


def test_a_3000_row_import_is_reverted_whole_the_registry_as_before_one_entry_per_object(admin):
    Provider.objects.create(slug="openai", name="OpenAI")
    import_rows([row(n) for n in range(1500)], request_id="seed")
    before = described()
    created = [row(n) for n in range(1500, 3000)]
    created[0] |= {"provider": "newcorp"}
    updated = [row(n, edited=True) for n in range(1500)]
    updated[0] |= {"successor": created[1]["name"]}
    import_rows(updated + created, request_id="import")
    imported = AuditEntry.objects.filter(request_id="import")
    kinds = {(e.object_type, e.action) for e in imported}
    assert kinds >= {("aimodel", "create"), ("aimodel", "update"), ("provider", "create")}
    assert {("modelindustryprofile", action) for action in ("create", "update", "delete")} <= kinds

    response = revert_request(admin, "import", {"reason": "wrong file"})

    assert response.status_code == 200, response.content[:2000]
    assert described() == before
    written = response.json()
    assert {(e["source"], e["reason"]) for e in written} == {("revert", "revert of request import: wrong file")}
    objects = [(e["object_type"], e["object_id"]) for e in written]
    assert len(objects) == len(set(objects)) == imported.count()  # one entry per object changed back
    models_and_providers = {(e.object_type, e.object_id) for e in imported if e.object_type != "modelindustryprofile"}
    assert {item for item in objects if item[0] != "modelindustryprofile"} == models_and_providers
    # (a profile the import removed comes back as a new row: its entry has its new id)
    assert len({e["request_id"] for e in written}) == 1


def test_a_field_changed_since_refuses_the_whole_revert_and_force_overrides(admin):
    request_id, before = an_import_of(300)
    model = AIModel.objects.get(name="m-00004")
    changed = admin.patch(f"/api/v1/models/{model.pk}", {"display_name": "Mine"}, format="json")
    assert changed.status_code == 200

    refused = revert_request(admin, request_id)

    assert refused.status_code == 409
    body = refused.json()
    assert body["forceable"] is True
    assert body["conflicts"]["display_name"] == {
        "reverting_to": "Model 4",
        "changed_from": "Model 4 (new)",
        "now": "Mine",
        "entry": body["by_entry"][0]["entry"],
        "object": {"type": "aimodel", "id": str(model.pk), "name": "m-00004"},
    }
    assert AIModel.objects.get(pk=model.pk).display_name == "Mine"
    assert AIModel.objects.filter(name="m-00299").exists()  # nothing was changed

    assert revert_request(admin, request_id, {"force": True}).status_code == 200
    assert described() == before


def test_a_value_the_registry_refuses_now_refuses_the_revert_naming_its_entry(admin):
    request_id, _ = an_import_of(300)
    schema = {"type": "object", "required": ["phi_allowed", "requires_baa", "region"]}
    Industry.objects.filter(slug="healthcare").update(settings_schema=schema)  # a new rule since

    refused = revert_request(admin, request_id)

    assert refused.status_code == 400, refused.content[:2000]
    (message,) = refused.json()["industries"]
    # a model whose healthcare profile the import removed, named with the entries it reverts
    number = int(re.search(r"\(m-(\d+)\)", message).group(1))
    assert number % 3 == 2 and "'region' is a required property" in message
    entries = [int(pk) for pk in re.findall(r"entry (\d+)", message)]
    assert AuditEntry.objects.filter(pk__in=entries, request_id=request_id).count() == len(entries) > 0
    assert not AIModel.objects.get(name=f"m-{number:05d}").industry_profiles.exists()
    assert AIModel.objects.filter(name="m-00299").exists()  # nothing was changed


def test_reverting_an_import_takes_the_same_queries_for_300_or_3000_rows(admin):
    def queries(rows: int) -> int:
        request_id, _ = an_import_of(rows, prefix=f"q{rows}-")
        with CaptureQueriesContext(connection) as captured:
            response = revert_request(admin, request_id)
        assert response.status_code == 200, response.content[:2000]
        assert AuditEntry.objects.filter(request_id=response.json()[0]["request_id"]).count() == len(response.json())
        statements = [query["sql"] for query in captured.captured_queries]
        if connection.vendor == "sqlite":  # Django splits a bulk insert at 999 parameters there (COPY elsewhere)
            statements = [sql for sql in statements if not re.match(r'INSERT INTO "\w+" \(.*\) VALUES \(', sql)]
        return len(statements)

    small, large = queries(300), queries(3000)

    assert large <= small + 8, (small, large)  # chunks of 1,000 rows or more, not a query per row


def test_the_admins_preview_of_a_large_revert_counts_the_steps_and_shows_the_first_conflicts_first(admin):
    request_id, _ = an_import_of(300)
    model = AIModel.objects.get(name="m-00004")
    assert admin.patch(f"/api/v1/models/{model.pk}", {"display_name": "Mine"}, format="json").status_code == 200
    browser = Client()
    browser.force_login(staff("admin"))

    page = page_of(browser.get(f"/admin/models_registry/aimodel/revert/request/{request_id}/"))

    counts = {
        (cells[0], cells[1]): int(cells[2])
        for tr in page.find("table", id="revert-counts").find("tbody").find_all("tr")
        if (cells := [td.text().strip() for td in tr.find_all("td")])
    }
    assert sum(counts.values()) == AuditEntry.objects.filter(request_id=request_id).count()
    assert counts[("aimodel", "delete")] == counts[("aimodel", "write back the old values")] == 150
    shown = [tr for tr in page.find("table", id="revert-steps").find_all("tr") if "data-entry" in tr.attrs]
    assert len(shown) == PREVIEW_STEPS
    conflicting = AuditEntry.objects.get(request_id=request_id, object_type="aimodel", object_id=str(model.pk))
    assert shown[0].attrs["data-entry"] == str(conflicting.pk)
    assert "display_name (1)" in page.find(id="revert-changed-since").text()


def test_a_created_model_deleted_since_is_a_conflict_and_forced_the_others_still_go_set_based(admin):
    request_id, before = an_import_of(300)
    gone = AIModel.objects.get(name="m-00153")  # created by the import, without profiles
    assert admin.delete(f"/api/v1/models/{gone.pk}").status_code == 204

    refused = revert_request(admin, request_id)
    with CaptureQueriesContext(connection) as captured:
        forced = revert_request(admin, request_id, {"force": True})

    assert refused.status_code == 409 and refused.json()["forceable"] is True
    assert forced.status_code == 200, forced.content[:2000]
    assert described() == before
    deletes = [
        q["sql"] for q in captured.captured_queries if q["sql"].startswith('DELETE FROM "models_registry_aimodel"')
    ]
    assert len(deletes) == 1  # the other 149 in one statement
