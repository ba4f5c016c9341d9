"""Revert and restore in the admin: from a model's history page, the audit log's list and
an entry's page, a preview of what the revert changes (each field's value now and after,
fields changed since marked), then a POST (with its CSRF token, a reason, and `force`
where fields changed since) that applies it as the API does, through the revert door."""

import pytest
from django.db.models import Sum
from django.test import Client

from audit.context import change_context
from audit.models import AuditEntry, SecurityEvent
from models_registry.models import AIModel
from models_registry.services import aimodel_bulk_apply, aimodel_delete, aimodel_update
from models_registry.tests.admin_pages import form_fields, page_of, staff
from models_registry.tests.factories import AIModelFactory, ProviderFactory, profile

pytestmark = pytest.mark.django_db

MODELS = "/admin/models_registry/aimodel"
AUDIT = "/admin/audit/auditentry"


def entry_url(entry: AuditEntry) -> str:
    return f"{MODELS}/revert/entry/{entry.pk}/"


def request_url(request_id: str) -> str:
    return f"{MODELS}/revert/request/{request_id}/"


def newest(**filters) -> AuditEntry:
    return AuditEntry.objects.filter(**filters).latest("id")


@pytest.fixture
def administrator():
    return staff("admin")


@pytest.fixture
def browser(administrator):
    """The administrator signed in, with CSRF checks on, as a browser meets them."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(administrator)
    return client


def submit(client, url: str, **fields):
    """The preview's form as the page has it (its CSRF token included), with `fields` typed in."""
    page = page_of(client.get(url))
    data = form_fields(page, "revert-form")
    data.pop("force", None)
    data |= {name: [value] for name, value in fields.items() if value is not False}
    return client.post(url, data)


@pytest.fixture
def renamed():
    """A model whose display name and price were changed, the change's entry."""
    model = AIModelFactory(name="gpt-4o", provider=ProviderFactory(slug="openai"), display_name="GPT-4o")
    aimodel_update(model=model, actor=None, display_name="Omni", input_cost_per_million_tokens="2.5")
    return model, newest(object_type="aimodel", action="update")


def test_the_history_page_offers_a_revert_of_each_entry_and_of_its_request(browser, renamed):
    model, entry = renamed

    page = browser.get(f"{MODELS}/{model.pk}/history/").content.decode()

    assert f'href="{entry_url(entry)}"' in page
    assert f'href="{request_url(entry.request_id)}"' in page


def test_editors_see_no_revert_and_are_refused_the_page_in_the_security_log(renamed):
    model, entry = renamed
    editor = staff("editor")
    client = Client()
    client.force_login(editor)

    history = client.get(f"{MODELS}/{model.pk}/history/").content.decode()
    preview = client.get(entry_url(entry))
    applying = client.post(entry_url(entry), {"reason": "x", "force": "on"})

    assert "revert/entry" not in history
    assert (preview.status_code, applying.status_code) == (403, 403)
    denials = SecurityEvent.objects.filter(event="permission_denied", username=editor.username)
    assert denials.aggregate(total=Sum("count"))["total"] == 2
    assert AIModel.objects.get(pk=model.pk).display_name == "Omni"


def test_the_preview_shows_each_field_now_and_after_and_changes_nothing(browser, renamed):
    _, entry = renamed
    mark = newest().pk

    response = browser.get(entry_url(entry))

    page = page_of(response)
    rows = page.find("table", id="revert-steps")
    text = " ".join(rows.text().split())
    assert response.status_code == 200
    assert "display_name Omni GPT-4o Omni" in text  # field, now, after, what the entry wrote
    assert "input_cost_per_million_tokens 2.5 — 2.5" in text
    assert "changed since" not in text
    assert "force" not in form_fields(page, "revert-form")  # nothing to force
    assert newest().pk == mark


def test_posting_the_preview_reverts_with_the_reason_and_goes_to_the_models_history(browser, administrator, renamed):
    model, entry = renamed

    response = submit(browser, entry_url(entry), reason="wrong model")

    model.refresh_from_db()
    written = newest()
    assert response.status_code == 302
    assert response["Location"] == f"{MODELS}/{model.pk}/history/"
    assert (model.display_name, model.input_cost_per_million_tokens) == ("GPT-4o", None)
    assert (written.source, written.reason) == ("revert", f"revert of entry {entry.pk}: wrong model")
    assert written.username == administrator.username


def test_a_post_without_its_csrf_token_is_refused(browser, renamed):
    model, entry = renamed

    response = browser.post(entry_url(entry), {"reason": "x"})

    assert response.status_code == 403
    assert AIModel.objects.get(pk=model.pk).display_name == "Omni"


def test_a_field_changed_since_is_marked_and_needs_force(browser, renamed):
    model, entry = renamed
    aimodel_update(model=model, actor=None, display_name="Omni 2")

    preview = page_of(browser.get(entry_url(entry)))
    refused = submit(browser, entry_url(entry))
    kept = AIModel.objects.get(pk=model.pk).display_name
    forced = submit(browser, entry_url(entry), force="on")

    [conflict] = [row for row in preview.find_all("tr") if "llm-conflict" in row.classes]
    assert "display_name" in conflict.text() and "changed since" in conflict.text()
    assert preview.find("input", name="force") is not None
    assert refused.status_code == 200
    assert "Changed since: display_name" in refused.content.decode()
    assert kept == "Omni 2"
    assert forced.status_code == 302
    assert AIModel.objects.get(pk=model.pk).display_name == "GPT-4o"


def test_deleted_models_are_found_in_the_audit_log_and_restored_from_there(browser, administrator):
    openai = ProviderFactory(slug="openai")
    model = AIModelFactory(name="gpt-4o", provider=openai, aliases=["gpt-4o-latest"], industries=[profile("general")])
    aimodel_delete(model=model, actor=None)
    entry = newest(object_type="aimodel", action="delete")

    models_page = browser.get(f"{MODELS}/").content.decode()
    deleted = browser.get(f"{AUDIT}/", {"object_type": "aimodel", "action__exact": "delete"})
    preview = browser.get(entry_url(entry))
    response = submit(browser, entry_url(entry), reason="needed")

    assert f'href="{AUDIT}/?object_type=aimodel&amp;action__exact=delete"' in models_page
    assert f'href="{entry_url(entry)}"' in deleted.content.decode() and "Restore…" in deleted.content.decode()
    assert 'value="Restore"' in preview.content.decode()
    assert "with its industry profiles: general" in preview.content.decode()
    assert response.status_code == 302
    restored = AIModel.objects.get(pk=model.pk)
    assert (restored.aliases, restored.industry_profiles.count()) == (["gpt-4o-latest"], 1)
    assert newest(object_type="aimodel").event_type == "model.restored"


def test_a_restore_whose_name_is_taken_says_who_holds_it(browser):
    openai = ProviderFactory(slug="openai")
    model = AIModelFactory(name="gpt-4o", provider=openai)
    aimodel_delete(model=model, actor=None)
    entry = newest(object_type="aimodel", action="delete")
    holder = AIModelFactory(name="gpt-4o", provider=openai)

    response = submit(browser, entry_url(entry))

    assert response.status_code == 200
    assert f"A model with this name already exists: gpt-4o (id {holder.pk})." in response.content.decode()
    assert not AIModel.objects.filter(pk=model.pk).exists()


def test_a_whole_request_is_previewed_and_reverted_from_an_entrys_page(browser):
    openai = ProviderFactory(slug="openai")
    models = [AIModelFactory(name=f"m{i}", provider=openai) for i in range(3)]
    with change_context(request_id="bulk-1"):
        aimodel_bulk_apply(action="deprecate", ids=[m.pk for m in models], actor=None)
    entry = newest(object_type="aimodel", action="update")

    entry_page = browser.get(f"{AUDIT}/{entry.pk}/change/").content.decode()
    preview = page_of(browser.get(request_url(entry.request_id)))
    response = submit(browser, request_url(entry.request_id), reason="too early")

    assert f'href="{request_url(entry.request_id)}"' in entry_page
    assert len(preview.find("table", id="revert-steps").find_all("tr")) == 1 + 3
    assert response.status_code == 302
    assert response["Location"].startswith(f"{AUDIT}/?q=")
    assert set(AIModel.objects.values_list("status", flat=True)) == {"active"}
    assert set(AuditEntry.objects.filter(source="revert").values_list("reason", flat=True)) == {
        f"revert of request {entry.request_id}: too early"
    }


def test_an_entry_that_changed_no_registry_object_has_no_revert(browser):
    entry = AuditEntry.objects.create(
        action="delete", object_type="history", object_id="-", object_repr="retention", source="cli", request_id="r"
    )

    response = browser.get(entry_url(entry))

    assert response.status_code == 200
    assert "cannot be reverted" in response.content.decode()
    assert page_of(response).find("form", id="revert-form") is None


def test_an_unknown_entry_or_request_is_a_404(browser):
    assert browser.get(f"{MODELS}/revert/entry/999999/").status_code == 404
    assert browser.get(request_url("no-such-request")).status_code == 404
    assert browser.get(request_url("bad%20id")).status_code == 404
