"""Revert and restore as staff do them in a real Chromium: from a model's history, a preview
of what changes (conflicts marked), a reason, the Revert button; a whole request reverted
from an audit entry's page; a deleted model found from the model list and restored. Each
test checks the page and what the database holds."""

import re

import pytest

from audit.context import change_context
from audit.models import AuditEntry
from models_registry.choices import BulkAction
from models_registry.models import AIModel
from models_registry.services import aimodel_bulk_apply, aimodel_delete, aimodel_update
from models_registry.tests.factories import AIModelFactory, ProviderFactory, profile

try:
    from playwright.sync_api import expect
except ImportError:  # the conftest skips every test here (or, with the browser required, fails them)
    expect = None

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MODELS_URL = "/admin/models_registry/aimodel/"


def click(page, locator) -> None:
    with page.expect_navigation():
        locator.click()


def test_an_update_is_reverted_from_the_history_page_after_a_preview(signed_in_page):
    page = signed_in_page
    model = AIModelFactory(name="gpt-4o", provider=ProviderFactory(slug="openai"), display_name="GPT-4o")
    aimodel_update(model=model, actor=None, display_name="Omni", context_window=8192)
    entry = AuditEntry.objects.filter(object_type="aimodel", action="update").latest("id")
    page.goto(f"{MODELS_URL}{model.pk}/history/")

    click(page, page.locator(f"#change-history a[href$='/revert/entry/{entry.pk}/']"))

    expect(page.locator("h1")).to_contain_text(f"Revert aimodel gpt-4o (entry {entry.pk})")
    steps = page.locator("#revert-steps tbody")
    expect(steps).to_contain_text("display_name")
    expect(steps.locator("del")).to_have_text(["8192", "Omni"])  # sorted by field: context_window, display_name
    expect(steps.locator("ins")).to_have_text(["128000", "GPT-4o"])
    expect(page.locator(".llm-conflict")).to_have_count(0)
    expect(page.locator("#id_force")).to_have_count(0)
    assert AIModel.objects.get(pk=model.pk).display_name == "Omni"  # a preview changes nothing

    page.fill("#id_reason", "wrong model")
    click(page, page.get_by_role("button", name="Revert"))

    expect(page).to_have_url(re.compile(rf"{MODELS_URL}{model.pk}/history/$"))
    expect(page.locator(".messagelist")).to_contain_text("Reverted: 1 change recorded.")
    expect(page.locator("#change-history tbody tr").first).to_contain_text(f"revert of entry {entry.pk}: wrong model")
    model.refresh_from_db()
    assert (model.display_name, model.context_window) == ("GPT-4o", 128000)


def test_a_field_changed_since_is_marked_and_reverted_only_with_force(signed_in_page):
    page = signed_in_page
    model = AIModelFactory(name="gpt-4o", provider=ProviderFactory(slug="openai"), display_name="GPT-4o")
    aimodel_update(model=model, actor=None, display_name="Omni")
    entry = AuditEntry.objects.filter(object_type="aimodel", action="update").latest("id")
    aimodel_update(model=model, actor=None, display_name="Omni 2")
    page.goto(f"{MODELS_URL}{model.pk}/history/")
    click(page, page.locator(f"#change-history a[href$='/revert/entry/{entry.pk}/']"))

    conflict = page.locator("#revert-steps tr.llm-conflict")
    expect(conflict).to_contain_text("display_name")
    expect(conflict).to_contain_text("changed since")
    expect(conflict.locator("del")).to_have_text("Omni 2")
    click(page, page.get_by_role("button", name="Revert"))
    expect(page.locator(".llm-refused")).to_contain_text("Changed since: display_name")
    assert AIModel.objects.get(pk=model.pk).display_name == "Omni 2"

    page.check("#id_force")
    click(page, page.get_by_role("button", name="Revert"))

    expect(page).to_have_url(re.compile(rf"{MODELS_URL}{model.pk}/history/$"))
    assert AIModel.objects.get(pk=model.pk).display_name == "GPT-4o"


def test_a_whole_request_is_reverted_from_an_audit_entry_after_a_preview_of_every_entry(signed_in_page):
    page = signed_in_page
    openai = ProviderFactory(slug="openai")
    models = [AIModelFactory(name="gpt-4o", provider=openai), AIModelFactory(name="gpt-4o-mini", provider=openai)]
    with change_context(request_id="bulk-1"):  # the bulk change's own request, as its door would give it
        aimodel_bulk_apply(action=BulkAction.DEPRECATE, ids=[m.pk for m in models], actor=None)
    entry = AuditEntry.objects.filter(object_type="aimodel", action="update").latest("id")
    page.goto(f"/admin/audit/auditentry/{entry.pk}/change/")

    click(page, page.locator(".llm-revert-request"))

    expect(page.locator("h1")).to_contain_text(f"Revert request {entry.request_id}")
    steps = page.locator("#revert-steps tbody tr[data-entry]")
    expect(steps).to_have_count(2)
    expect(page.locator("#revert-steps")).to_contain_text("gpt-4o-mini")
    expect(page.locator("#revert-steps del")).to_have_text(["deprecated", "deprecated"])
    expect(page.locator("#revert-steps ins")).to_have_text(["active", "active"])
    assert set(AIModel.objects.values_list("status", flat=True)) == {"deprecated"}  # a preview changes nothing

    page.fill("#id_reason", "wrong models")
    click(page, page.get_by_role("button", name="Revert"))

    expect(page.locator(".messagelist")).to_contain_text("Reverted: 2 changes recorded.")
    expect(page.locator("#result_list tbody tr")).to_have_count(2)  # the audit log, showing this revert's entries
    assert set(AIModel.objects.values_list("status", flat=True)) == {"active"}
    reverted = AuditEntry.objects.filter(source="revert")
    assert {e.reason for e in reverted} == {f"revert of request {entry.request_id}: wrong models"}


def test_a_deleted_model_is_found_from_the_model_list_and_restored(signed_in_page):
    page = signed_in_page
    openai = ProviderFactory(slug="openai")
    successor = AIModelFactory(name="gpt-5", provider=openai)
    model = AIModelFactory(
        name="gpt-4o", provider=openai, aliases=["gpt-4o-latest"], successor=successor,
        industries=[profile("healthcare", phi_allowed=True)],
    )  # fmt: skip
    aimodel_delete(model=model, actor=None)
    page.goto(MODELS_URL)

    click(page, page.locator("#deleted-models"))
    row = page.locator("#result_list tbody tr").filter(has_text="gpt-4o")
    click(page, row.get_by_role("link", name="Restore…"))

    expect(page.locator("h1")).to_contain_text("Restore aimodel gpt-4o")
    expect(page.locator("#revert-steps")).to_contain_text("with its industry profiles: healthcare")
    expect(page.locator("#revert-steps")).to_contain_text("gpt-4o-latest")
    page.fill("#id_reason", "still in use")
    click(page, page.get_by_role("button", name="Restore"))

    expect(page).to_have_url(re.compile(rf"{MODELS_URL}{model.pk}/history/$"))
    expect(page.locator("#change-history tbody tr").first).to_contain_text("still in use")
    restored = AIModel.objects.get(pk=model.pk)
    assert (restored.name, restored.aliases, restored.successor_id) == ("gpt-4o", ["gpt-4o-latest"], successor.pk)
    assert restored.industry_profiles.get().settings == {"phi_allowed": True}
    page.goto(f"{MODELS_URL}{model.pk}/change/")
    expect(page.locator("#id_name")).to_have_value("gpt-4o")
