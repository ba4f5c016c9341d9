"""The catalog drift page as an editor uses it in a real Chromium: from the model list, upload
an upstream LiteLLM catalog, read the drift (new, changed registry → upstream, gone), tick
rows, accept; and a preview gone stale meanwhile, refused with the row marked."""

import json
import re

import pytest

from audit.models import AuditEntry
from models_registry.models import AIModel
from models_registry.tests.admin_pages import staff
from models_registry.tests.browser.conftest import sign_in
from models_registry.tests.factories import AIModelFactory, ProviderFactory

try:
    from playwright.sync_api import expect
except ImportError:  # the conftest skips every test here (or, with the browser required, fails them)
    expect = None

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MODELS_URL = "/admin/models_registry/aimodel/"
UPSTREAM = {
    "gpt-x": {"litellm_provider": "openai", "mode": "chat", "max_input_tokens": 256000, "input_cost_per_token": 2e-06},
    "gpt-y": {"litellm_provider": "openai", "mode": "chat", "max_input_tokens": 32000},
    "gpt-new": {"litellm_provider": "openai", "mode": "chat", "max_input_tokens": 64000},
}


def click(page, locator) -> None:
    with page.expect_navigation():
        locator.click()


@pytest.fixture
def editor_page(page):
    """An editor signed in, with a registry an older catalog made: gpt-x and gpt-y at other
    context windows, gpt-gone since dropped upstream, gpt-new not there yet."""
    openai = ProviderFactory(slug="openai")
    AIModelFactory(name="gpt-x", provider=openai, model_type="chat", context_window=128000)
    AIModelFactory(name="gpt-y", provider=openai, model_type="chat", context_window=16000)
    AIModelFactory(name="gpt-gone", provider=openai, model_type="chat")
    sign_in(page, staff("editor").username)
    return page


def compare(page) -> None:
    page.goto(MODELS_URL)
    click(page, page.locator("#catalog-drift"))
    page.set_input_files(
        "#id_file",
        files=[{"name": "catalog.json", "mimeType": "application/json", "buffer": json.dumps(UPSTREAM).encode()}],
    )
    click(page, page.get_by_role("button", name="Compare"))


def test_an_editor_reads_the_drift_ticks_rows_and_accepts_them(editor_page):
    page = editor_page

    compare(page)

    expect(page.locator(".llm-totals")).to_contain_text("new=1 changed=2 gone=1")
    expect(page.locator("#drift-new tr[data-model]")).to_have_count(1)
    expect(page.locator("#drift-new")).to_contain_text("gpt-new")
    changed = page.locator("#drift-changed tr[data-model='gpt-x']")
    expect(changed.locator("del")).to_have_text("128000")
    expect(changed.locator("ins")).to_have_text("256000")
    expect(page.locator("#drift-gone")).to_contain_text("gpt-gone")

    page.get_by_label("Accept gpt-x").check()
    page.get_by_label("Accept gpt-gone").check()
    page.fill("#id_reason", "monthly sync")
    click(page, page.get_by_role("button", name="Accept the ticked rows"))

    expect(page).to_have_url(re.compile(rf"{MODELS_URL}$"))
    expect(page.locator(".messagelist")).to_contain_text("accepted: 0 created, 1 updated, 1 deprecated")
    models = {m.name: m for m in AIModel.objects.all()}
    assert (models["gpt-x"].context_window, models["gpt-y"].context_window) == (256000, 16000)
    assert models["gpt-gone"].status == "deprecated"
    assert "gpt-new" not in models
    reasons = set(AuditEntry.objects.filter(source="import").values_list("reason", flat=True))
    assert reasons == {"catalog drift catalog.json: monthly sync"}


def test_a_row_changed_since_the_preview_is_marked_and_nothing_is_applied(editor_page):
    page = editor_page
    compare(page)
    AIModel.objects.filter(name="gpt-x").update(context_window=200000)  # someone else, meanwhile

    page.get_by_label("Accept gpt-x").check()
    page.get_by_label("Accept gpt-y").check()
    click(page, page.get_by_role("button", name="Accept the ticked rows"))

    expect(page.locator(".llm-stale-note")).to_contain_text("The registry changed since the preview for gpt-x")
    row = page.locator("#drift-changed tr[data-model='gpt-x']")
    expect(row.locator(".llm-conflict-label")).to_have_text("changed since")
    expect(row.locator("del")).to_have_text("200000")
    assert dict(AIModel.objects.values_list("name", "context_window")) == {
        "gpt-x": 200000, "gpt-y": 16000, "gpt-gone": 128000,
    }  # fmt: skip
