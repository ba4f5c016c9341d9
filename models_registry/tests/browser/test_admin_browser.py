"""The admin as staff use it: a real Chromium against the live server, clicking and typing.

Each test reads given / when / then and checks what the page shows and what the database
holds afterwards. Transactional (the live server runs in another thread); the flush after
each test drops the roles and industries the migrations create, and the root conftest
puts them back before the next one.
"""

import csv
import datetime
import importlib.util
import io
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib import admin
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db.models import F
from django.utils import timezone

from accounts.sessions import AUTHENTICATED_AT
from audit.exports import AUDIT_CSV_COLUMNS
from audit.models import AuditEntry
from models_registry.choices import Capability, ModelStatus, ModelType
from models_registry.models import AIModel, ModelIndustryProfile, Provider
from models_registry.services import aimodel_update
from models_registry.tests.browser.conftest import PASSWORD, sign_in
from models_registry.tests.factories import AIModelFactory, ModelDependencyFactory, ProviderFactory

try:
    from playwright.sync_api import expect
except ImportError:  # the conftest skips every test here (or, with the browser required, fails them)
    expect = None

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MODELS_URL = "/admin/models_registry/aimodel/"
AUDIT_URL = "/admin/audit/auditentry/"
REPO = Path(__file__).resolve().parents[3]


def change_url(model: AIModel) -> str:
    return f"{MODELS_URL}{model.pk}/change/"


def listed_names(page) -> list[str]:
    return page.locator("#result_list tbody th.field-name").all_inner_texts()


def click_filter(page, title: str, choice: str) -> None:
    """A choice in the list's side filter panel, e.g. ("provider", "acme")."""
    with page.expect_navigation():
        page.locator(f"#changelist-filter details[data-filter-title='{title}']").get_by_role(
            "link", name=choice, exact=True
        ).click()


def set_provider(page, provider) -> None:
    """The provider as select2 stores a pick, without asking the autocomplete endpoint (which
    has its own test below), so that the form's own behaviour is tested whatever it answers."""
    page.eval_on_selector(
        "#id_provider",
        """(select, [id, text]) => {
            select.append(new Option(text, id, true, true));
            select.dispatchEvent(new Event("change", {bubbles: true}));
        }""",
        [str(provider.pk), provider.slug],
    )


def run_action(page, label: str) -> None:
    page.select_option("select[name=action]", label=label)
    with page.expect_navigation():
        page.click("button[name=index]")


def select_rows(page, *models: AIModel) -> None:
    for model in models:
        page.check(f"input.action-select[value='{model.pk}']")


def save(page) -> None:
    with page.expect_navigation():
        page.click("input[name=_save]")


def reload(model: AIModel) -> AIModel:
    return AIModel.objects.get(pk=model.pk)


@pytest.fixture
def catalog():
    """Two providers, four models with different capabilities and types."""
    acme, globex = ProviderFactory(slug="acme", name="Acme"), ProviderFactory(slug="globex", name="Globex")
    return {
        "acme-chat": AIModelFactory(
            name="acme-chat",
            provider=acme,
            capabilities=[Capability.VISION, Capability.FUNCTION_CALLING],
            input_cost_per_million_tokens=Decimal("1.5"),
            output_cost_per_million_tokens=Decimal("6"),
            aliases=["acme-chat-latest"],
        ),
        "acme-embed": AIModelFactory(name="acme-embed", provider=acme, model_type=ModelType.EMBEDDING),
        "globex-chat": AIModelFactory(name="globex-chat", provider=globex, capabilities=[Capability.FUNCTION_CALLING]),
        "globex-lens": AIModelFactory(
            name="globex-lens", provider=globex, capabilities=[Capability.VISION], description="Reads images."
        ),
    }


# --- Signing in ------------------------------------------------------------------------


def test_a_superuser_signs_in_through_the_login_form_and_reaches_the_dashboard(page, superuser):
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/admin/login/\?next=/admin/$"))

    sign_in(page, "alice")

    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.locator("#user-tools")).to_contain_text("alice")
    expect(page.locator(".llm-dashboard")).to_be_visible()


def test_a_wrong_password_shows_an_error_and_stays_signed_out(page, superuser):
    sign_in(page, "alice", "not the password")

    expect(page).to_have_url(re.compile(r"/admin/login/"))
    expect(page.locator(".errornote")).to_contain_text("Please enter the correct username and password")
    expect(page.locator("#id_username")).to_have_value("alice")
    page.goto(MODELS_URL)
    expect(page).to_have_url(re.compile(r"/admin/login/"))


# --- The model list ----------------------------------------------------------------------


def test_the_search_box_finds_models_by_provider_and_by_capability(signed_in_page, catalog):
    page = signed_in_page
    page.goto(MODELS_URL)
    assert listed_names(page) == ["acme-chat", "acme-embed", "globex-chat", "globex-lens"]

    page.fill("#searchbar", "globex")
    with page.expect_navigation():
        page.press("#searchbar", "Enter")
    assert listed_names(page) == ["globex-chat", "globex-lens"]

    page.fill("#searchbar", "vision")
    with page.expect_navigation():
        page.click("#changelist-search input[type=submit]")
    assert listed_names(page) == ["acme-chat", "globex-lens"]

    page.fill("#searchbar", "images")  # the description
    with page.expect_navigation():
        page.press("#searchbar", "Enter")
    assert listed_names(page) == ["globex-lens"]


def test_the_provider_and_capability_filters_narrow_the_list_together(signed_in_page, catalog):
    page = signed_in_page
    page.goto(MODELS_URL)

    click_filter(page, "provider", "acme")
    assert listed_names(page) == ["acme-chat", "acme-embed"]

    click_filter(page, "capability", "Vision")
    assert listed_names(page) == ["acme-chat"]
    assert "provider=acme" in page.url and "capability=vision" in page.url

    click_filter(page, "provider", "All")
    assert listed_names(page) == ["acme-chat", "globex-lens"]

    click_filter(page, "capability", "Function calling")
    assert listed_names(page) == ["acme-chat", "globex-chat"]


# --- Creating and editing -------------------------------------------------------------------


def test_the_name_field_says_a_taken_name_is_taken_while_typing_before_any_submit(signed_in_page, catalog):
    page = signed_in_page
    page.goto(f"{MODELS_URL}add/")
    feedback = page.locator(".llm-name-feedback")

    page.locator("#id_name").press_sequentially("ACME-chat", delay=20)
    expect(feedback).to_have_text("Already taken by acme-chat.")
    expect(feedback).to_have_class(re.compile("llm-bad"))

    page.fill("#id_name", "")
    page.locator("#id_name").press_sequentially("acme-chat-latest", delay=20)  # an alias
    expect(feedback).to_have_text("Already taken by acme-chat.")

    page.fill("#id_name", "")
    page.locator("#id_name").press_sequentially("has space", delay=20)
    expect(feedback).to_contain_text("Start with a letter or digit")

    page.fill("#id_name", "")
    page.locator("#id_name").press_sequentially("acme-nova", delay=20)
    expect(feedback).to_have_text("Available.")
    expect(feedback).to_have_class(re.compile("llm-good"))
    assert page.url.endswith(f"{MODELS_URL}add/")
    assert not AIModel.objects.filter(name="acme-nova").exists()


def test_the_provider_field_autocompletes_from_the_providers(signed_in_page, catalog):
    page = signed_in_page
    ProviderFactory(slug="acme-labs", name="Acme Labs")
    page.goto(f"{MODELS_URL}add/")

    page.locator(".field-provider .select2-selection").click()
    page.locator(".select2-search__field").fill("acm")

    options = page.locator(".select2-results__option")
    expect(options).to_have_text(["acme", "acme-labs"])
    options.filter(has_text="acme-labs").click()
    expect(page.locator("#id_provider")).to_have_value(str(Provider.objects.get(slug="acme-labs").pk))
    expect(page.locator(".field-provider .select2-selection__rendered")).to_contain_text("acme-labs")


def test_creating_a_model_with_errors_keeps_everything_entered_then_saves_once_fixed(signed_in_page, catalog):
    page = signed_in_page
    acme = catalog["acme-chat"].provider
    page.goto(f"{MODELS_URL}add/")

    page.fill("#id_name", "acme nova")
    page.fill("#id_display_name", "Acme Nova")
    set_provider(page, acme)
    page.check("input[name=capabilities][value=vision]")
    page.check("input[name=capabilities][value=reasoning]")
    page.fill("#id_context_window", "0")
    page.fill("#id_input_cost_per_million_tokens", "0.75")
    page.locator(".llm-profiles .add-row a", has_text=re.compile("Add another", re.IGNORECASE)).click()
    page.select_option("select[name='industry_profiles-0-industry']", label="general")
    temperature = page.locator("input[name='industry_profiles-0-setting__max_temperature']")
    expect(temperature).to_be_visible()  # the chosen industry's settings are shown
    expect(page.locator("input[name='industry_profiles-0-setting__phi_allowed']")).to_have_count(0)
    temperature.fill("3")
    save(page)

    # Refused, with each error at its field ...
    expect(page.locator(".errornote")).to_be_visible()
    expect(page.locator(".field-name .errorlist")).to_contain_text("Start with a letter or digit")
    expect(page.locator(".field-context_window .errorlist")).to_contain_text("greater than or equal to 1")
    expect(page.locator(".llm-profiles .errorlist")).to_contain_text("less than or equal to 2")
    # ... and everything entered still there.
    expect(page.locator("#id_name")).to_have_value("acme nova")
    expect(page.locator("#id_display_name")).to_have_value("Acme Nova")
    expect(page.locator("#id_provider")).to_have_value(str(acme.pk))
    expect(page.locator(".field-provider .select2-selection__rendered")).to_contain_text("acme")
    expect(page.locator("input[name=capabilities][value=vision]")).to_be_checked()
    expect(page.locator("input[name=capabilities][value=reasoning]")).to_be_checked()
    expect(page.locator("input[name=capabilities][value=web_search]")).not_to_be_checked()
    expect(page.locator("#id_context_window")).to_have_value("0")
    expect(page.locator("#id_input_cost_per_million_tokens")).to_have_value("0.75")
    expect(page.locator("select[name='industry_profiles-0-industry'] option:checked")).to_have_text("general")
    expect(temperature).to_have_value("3")
    assert not AIModel.objects.filter(name__icontains="nova").exists()

    page.fill("#id_name", "acme-nova")
    page.fill("#id_context_window", "32000")
    temperature.fill("1.5")
    save(page)

    expect(page).to_have_url(re.compile(f"{MODELS_URL}$"))
    expect(page.locator(".messagelist .success")).to_contain_text("acme-nova")
    assert "acme-nova" in listed_names(page)
    created = AIModel.objects.get(name="acme-nova")
    assert (created.display_name, created.provider, created.context_window) == ("Acme Nova", acme, 32000)
    assert created.capabilities == ["reasoning", "vision"]
    assert created.input_cost_per_million_tokens == Decimal("0.75")
    profile = ModelIndustryProfile.objects.get(model=created)
    assert (profile.industry.slug, profile.enabled, profile.settings) == ("general", True, {"max_temperature": 1.5})


def test_an_edit_shows_in_the_list_and_on_the_history_page_with_old_new_who_and_source(signed_in_page, catalog):
    page = signed_in_page
    model = catalog["acme-chat"]
    page.goto(change_url(model))

    page.select_option("#id_status", "inactive")
    page.fill("#id_input_cost_per_million_tokens", "2.25")
    page.fill("#id_change_reason", "price list of May")
    save(page)

    expect(page.locator(".messagelist .success")).to_contain_text("acme-chat")
    row = page.locator("#result_list tbody tr", has=page.locator("th.field-name", has_text="acme-chat"))
    expect(row.locator("td.field-status_badge")).to_have_text("Inactive")
    expect(row.locator("td.field-input_price")).to_have_text("2.25")
    expect(row.locator("td.field-last_change")).to_contain_text("alice")
    stored = reload(model)
    assert (stored.status, stored.input_cost_per_million_tokens) == ("inactive", Decimal("2.25"))

    page.goto(change_url(model))
    with page.expect_navigation():
        page.locator(".object-tools").get_by_role("link", name="History").click()
    expect(page).to_have_url(re.compile(rf"{MODELS_URL}{model.pk}/history/$"))
    latest = page.locator("#change-history tbody tr").first
    cells = latest.locator("td")
    expect(cells.nth(1)).to_have_text("alice")
    expect(cells.nth(2)).to_have_text("update")
    diff = cells.nth(3)
    expect(diff.locator("div", has_text="status")).to_have_text(re.compile(r"status:\s*active\s*→\s*inactive"))
    expect(diff.locator("div", has_text="input_cost_per_million_tokens")).to_have_text(
        re.compile(r"input_cost_per_million_tokens:\s*1\.5\s*→\s*2\.25")
    )
    expect(cells.nth(4)).to_have_text("admin")
    expect(cells.nth(5)).to_have_text("price list of May")
    # The creation is listed below it.
    expect(page.locator("#change-history tbody tr").nth(1).locator("td").nth(2)).to_have_text("create")


def test_the_form_shows_a_million_token_context_window_in_full(signed_in_page, catalog):
    page = signed_in_page
    model = AIModelFactory(
        name="acme-long", provider=catalog["acme-chat"].provider, context_window=1_000_000, max_output_tokens=128_000
    )
    page.goto(change_url(model))

    for field in ("#id_context_window", "#id_max_output_tokens"):
        box = page.locator(field)
        expect(box).to_have_value(str(getattr(model, field.removeprefix("#id_"))))
        clipped = box.evaluate("input => input.scrollWidth > input.clientWidth")
        assert not clipped, f"{field} is too narrow: {box.input_value()} shows cut off"


def test_the_second_of_two_concurrent_edits_is_refused_naming_what_the_first_changed(
    new_page, superuser, django_user_model, catalog
):
    django_user_model.objects.create_superuser(username="bob", password=PASSWORD)
    model = catalog["acme-chat"]
    alice, bob = new_page(), new_page()
    sign_in(alice, "alice", path=change_url(model))
    sign_in(bob, "bob", path=change_url(model))
    expect(alice.locator("#id_name")).to_have_value("acme-chat")
    expect(bob.locator("#id_name")).to_have_value("acme-chat")

    alice.fill("#id_output_cost_per_million_tokens", "9")
    save(alice)
    expect(alice.locator(".messagelist .success")).to_be_visible()

    bob.select_option("#id_status", "deprecated")
    bob.fill("#id_display_name", "Bob's name")
    save(bob)

    errors = bob.locator(".errornote + ul.errorlist, ul.errorlist.nonfield")
    expect(bob.locator(".errornote")).to_be_visible()
    expect(errors).to_contain_text("Someone else saved this model after you opened it")
    expect(errors).to_contain_text(
        re.compile(r"alice \(admin, [0-9:]+\) changed output_cost_per_million_tokens: '6' → '9'")
    )
    # Bob's entries are kept for him to redo, and nothing of his was saved.
    expect(bob.locator("#id_display_name")).to_have_value("Bob's name")
    stored = reload(model)
    assert (stored.status, stored.display_name) == (ModelStatus.ACTIVE, "Acme Chat")
    assert stored.output_cost_per_million_tokens == Decimal("9")


# --- Bulk actions ---------------------------------------------------------------------------


def test_bulk_deprecate_of_two_selected_models_ends_on_a_result_page(signed_in_page, catalog):
    page = signed_in_page
    first, second, untouched = catalog["acme-chat"], catalog["globex-chat"], catalog["acme-embed"]
    page.goto(MODELS_URL)

    select_rows(page, first, second)
    run_action(page, "Deprecate selected models")

    expect(page.locator("h1")).to_have_text("Deprecate selected models: results")
    expect(page.locator(".llm-totals")).to_have_text("2 succeeded, 0 failed, of 2 selected.")
    rows = page.locator("table.llm-results tbody tr")
    expect(rows).to_have_count(2)
    assert sorted(rows.locator("td:first-child").all_inner_texts()) == ["acme-chat", "globex-chat"]
    expect(rows.locator("td.llm-ok")).to_have_text(["done", "done"])
    assert {m.name: m.status for m in AIModel.objects.all()} == {
        "acme-chat": "deprecated",
        "acme-embed": "active",
        "globex-chat": "deprecated",
        "globex-lens": "active",
    }
    assert reload(untouched).version == untouched.version


def test_bulk_delete_skips_a_model_with_a_dependent_and_lists_the_dependent(signed_in_page, catalog):
    page = signed_in_page
    used, unused = catalog["acme-chat"], catalog["globex-chat"]
    ModelDependencyFactory(model=used, component_type="agent", component_id="support-bot", component_name="Support bot")
    page.goto(MODELS_URL)

    select_rows(page, used, unused)
    run_action(page, "Delete selected models")

    expect(page.locator("h1")).to_have_text("Delete selected models: results")
    expect(page.locator(".llm-totals")).to_have_text("1 succeeded, 1 failed, of 2 selected.")
    deleted = page.locator("table.llm-results tbody tr", has_text="globex-chat")
    expect(deleted.locator("td").nth(1)).to_have_text("deleted")
    skipped = page.locator("table.llm-results tbody tr", has_text="acme-chat")
    expect(skipped.locator("td").nth(1)).to_have_text("skipped")
    expect(skipped.locator("td").nth(2)).to_contain_text("has dependencies: 1 dependent")
    expect(skipped.locator("td").nth(2).locator("li")).to_have_text("agent:support-bot Support bot")
    assert not AIModel.objects.filter(pk=unused.pk).exists()
    assert AIModel.objects.filter(pk=used.pk).exists()


def test_select_all_across_pages_deletes_every_model_but_the_one_in_use(signed_in_page, catalog, monkeypatch):
    page = signed_in_page
    monkeypatch.setattr(admin.site._registry[AIModel], "list_per_page", 2)
    AIModelFactory(name="zeta-1", provider=catalog["acme-chat"].provider)
    ModelDependencyFactory(model=catalog["globex-lens"], component_type="workflow", component_id="triage")
    page.goto(MODELS_URL)
    assert listed_names(page) == ["acme-chat", "acme-embed"]  # page 1 of 3

    page.check("#action-toggle")
    page.get_by_role("button", name="Select all 5 AI models").click()
    expect(page.locator(".actions .all")).to_contain_text(re.compile(r"All 5 .*selected"))
    run_action(page, "Delete selected models")

    expect(page.locator(".llm-totals")).to_have_text("4 succeeded, 1 failed, of 5 selected.")
    rows = page.locator("table.llm-results tbody tr")
    expect(rows).to_have_count(5)
    expect(rows.filter(has_text="globex-lens").locator("td").nth(1)).to_have_text("skipped")
    expect(rows.filter(has_text="zeta-1").locator("td").nth(1)).to_have_text("deleted")  # from page 3
    assert list(AIModel.objects.values_list("name", flat=True)) == ["globex-lens"]


# --- Import with a preview --------------------------------------------------------------------


IMPORT_CSV = (
    "name,provider,model_type,context_window\n"
    "acme-fresh,acme,chat,16000\n"
    "acme-chat,acme,chat,256000\n"
    "bad name,acme,chat,1000\n"
)


def test_import_previews_new_update_and_invalid_rows_then_applies_the_valid_ones(signed_in_page, catalog):
    page = signed_in_page
    existing = catalog["acme-chat"]
    page.goto(MODELS_URL)
    with page.expect_navigation():
        page.locator(".object-tools").get_by_role("link", name="Import").click()

    page.set_input_files(
        "#id_file", files=[{"name": "models.csv", "mimeType": "text/csv", "buffer": IMPORT_CSV.encode()}]
    )
    page.check("#id_skip_invalid")
    with page.expect_navigation():
        page.click("#import-form input[type=submit]")

    expect(page.locator(".llm-totals")).to_contain_text("created=1 updated=1 unchanged=0 invalid=1")
    expect(page.locator(".llm-totals")).to_contain_text("Nothing has been changed yet.")
    new = page.locator("#import-rows tr.llm-row-new")
    expect(new).to_have_count(1)
    expect(new.locator("td").nth(1)).to_have_text("acme-fresh")
    update = page.locator("#import-rows tr.llm-row-update")
    expect(update.locator("td").nth(1)).to_have_text("acme-chat")
    expect(update.locator(".llm-diff")).to_contain_text(re.compile(r"context_window:\s*128000\s*→\s*256000"))
    invalid = page.locator("#import-rows tr.llm-row-invalid")
    expect(invalid.locator("td").nth(1)).to_have_text("bad name")
    expect(invalid.locator(".llm-diff")).to_contain_text("name: Start with a letter or digit")
    assert not AIModel.objects.filter(name="acme-fresh").exists()
    assert reload(existing).context_window == 128000

    confirm = page.locator("#import-confirm input[type=submit]")
    expect(confirm, "with “apply the valid rows” ticked, the preview must offer to apply them").to_be_visible()
    with page.expect_navigation():
        confirm.click()

    expect(page.locator(".llm-totals")).to_contain_text("created=1 updated=1 unchanged=0 invalid=1")
    expect(page.locator("table.llm-results tbody tr")).to_have_text(re.compile(r"bad name"))
    assert AIModel.objects.get(name="acme-fresh").context_window == 16000
    assert reload(existing).context_window == 256000
    assert not AIModel.objects.filter(name="bad name").exists()


def test_an_import_with_invalid_rows_and_no_tick_offers_nothing_to_apply(signed_in_page, catalog):
    page = signed_in_page
    page.goto(f"{MODELS_URL}import/")

    page.set_input_files(
        "#id_file", files=[{"name": "models.csv", "mimeType": "text/csv", "buffer": IMPORT_CSV.encode()}]
    )
    with page.expect_navigation():
        page.click("#import-form input[type=submit]")

    expect(page.locator(".errornote")).to_contain_text("Some rows are invalid, so nothing would be imported")
    expect(page.locator("#import-confirm")).to_have_count(0)
    assert not AIModel.objects.filter(name="acme-fresh").exists()


# --- The audit log ------------------------------------------------------------------------------


@pytest.fixture
def two_users_changes(superuser, django_user_model, catalog):
    """alice made the catalog (through the factory, as no one) plus one change; bob two changes."""
    bob = django_user_model.objects.create_superuser(username="bob", password=PASSWORD)
    aimodel_update(model=catalog["acme-chat"], actor=superuser, display_name="Acme Chat One")
    aimodel_update(model=catalog["globex-chat"], actor=bob, status=ModelStatus.INACTIVE)
    aimodel_update(model=catalog["globex-lens"], actor=bob, context_window=64000)
    return bob


def test_the_audit_log_searched_by_user_lists_only_that_users_entries(signed_in_page, two_users_changes):
    page = signed_in_page
    page.goto(AUDIT_URL)
    assert page.locator("#result_list tbody tr").count() == AuditEntry.objects.count()

    page.fill("#searchbar", "bob")
    with page.expect_navigation():
        page.press("#searchbar", "Enter")

    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(2)
    assert rows.locator("td.field-username").all_inner_texts() == ["bob", "bob"]
    assert sorted(rows.locator("td.field-object_repr").all_inner_texts()) == ["globex-chat", "globex-lens"]

    # The export endpoint, in the signed-in browser, with the same user filter.
    response = page.request.get(f"{AUDIT_URL}export.csv?user=bob")
    assert response.ok and response.headers["content-type"].startswith("text/csv")
    exported = list(csv.DictReader(io.StringIO(response.text())))
    assert [row["user"] for row in exported] == ["bob", "bob"]
    assert sorted(row["object_repr"] for row in exported) == ["globex-chat", "globex-lens"]


def test_the_audit_log_has_a_csv_export_link_that_downloads_the_log(signed_in_page, two_users_changes):
    page = signed_in_page
    page.goto(AUDIT_URL)

    link = page.locator("a[href*='export.csv']")
    expect(link, "the audit log list should link to its CSV export").to_have_count(1)
    with page.expect_download() as download_info:
        link.click()

    download = download_info.value
    assert download.suggested_filename == "audit-log.csv"
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert rows[0] == AUDIT_CSV_COLUMNS
    assert len(rows) - 1 == AuditEntry.objects.count()


# --- Sessions ---------------------------------------------------------------------------------


def test_a_save_after_the_session_ended_restores_the_typed_form_after_signing_in(signed_in_page, catalog):
    page = signed_in_page
    model = catalog["acme-chat"]
    page.goto(change_url(model))
    page.fill("#id_display_name", "Acme Chat Pro")
    page.fill("#id_context_window", "200000")
    page.check("input[name=capabilities][value=reasoning]")
    page.select_option("#id_status", "deprecated")

    Session.objects.all().delete()  # the session ends on the server (expiry, sign-out elsewhere)
    save(page)

    expect(page).to_have_url(re.compile(rf"/admin/login/\?next={re.escape(change_url(model))}$"))
    assert reload(model).version == model.version

    sign_in(page, "alice")

    expect(page).to_have_url(re.compile(rf"{re.escape(change_url(model))}$"))
    expect(page.locator(".llm-restored")).to_contain_text("What you entered is restored below; nothing was saved yet")
    expect(page.locator("#id_display_name")).to_have_value("Acme Chat Pro")
    expect(page.locator("#id_context_window")).to_have_value("200000")
    expect(page.locator("input[name=capabilities][value=reasoning]")).to_be_checked()
    expect(page.locator("input[name=capabilities][value=vision]")).to_be_checked()
    expect(page.locator("#id_status")).to_have_value("deprecated")
    stored = reload(model)
    assert (stored.version, stored.display_name, stored.context_window) == (model.version, "Acme Chat", 128000)

    save(page)

    expect(page.locator(".messagelist .success")).to_contain_text("acme-chat")
    stored = reload(model)
    assert (stored.display_name, stored.context_window, stored.status) == ("Acme Chat Pro", 200000, "deprecated")
    assert stored.capabilities == ["function_calling", "reasoning", "vision"]
    # Once used, the draft is gone: reopening the form shows the stored values, no notice.
    page.goto(change_url(model))
    expect(page.locator(".llm-restored")).to_have_count(0)


def test_a_form_saved_successfully_is_not_restored_at_a_later_sign_in(signed_in_page, catalog):
    page = signed_in_page
    model = catalog["acme-chat"]
    page.goto(change_url(model))
    page.fill("#id_display_name", "Saved name")
    save(page)
    expect(page.locator(".messagelist .success")).to_be_visible()
    aimodel_update(model=reload(model), actor=None, display_name="Changed by someone else")
    with page.expect_navigation():
        page.locator("#logout-form button").click()

    page.goto(change_url(model))  # e.g. a bookmark: the sign-in page comes first
    sign_in(page, "alice")

    expect(page).to_have_url(re.compile(rf"{re.escape(change_url(model))}$"))
    expect(page.locator("#id_display_name")).to_have_value("Changed by someone else")
    expect(page.locator(".llm-restored")).to_have_count(0)


def delete_through_the_password_page(page, model: AIModel) -> None:
    """Delete `model` from its change form; expect to be asked for the password first."""
    page.goto(change_url(model))
    with page.expect_navigation():
        page.locator(".submit-row").get_by_role("link", name="Delete").click()
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile("Yes, I.m sure")).click()

    expect(page).to_have_url(re.compile(r"/admin/reauthenticate/$"))
    expect(page.locator("#content-main")).to_contain_text("Enter your password to continue")
    assert AIModel.objects.filter(pk=model.pk).exists()

    page.fill("#id_password", "wrong")
    with page.expect_navigation():
        page.click("input[type=submit]")
    expect(page.locator(".errorlist")).to_contain_text("That is not your password.")
    assert AIModel.objects.filter(pk=model.pk).exists()

    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")  # then the page posts the deletion again by itself

    expect(page).to_have_url(re.compile(f"{MODELS_URL}$"))
    expect(page.locator(".messagelist .success")).to_contain_text(model.name)
    assert not AIModel.objects.filter(pk=model.pk).exists()


def test_with_reauthentication_always_required_a_deletion_asks_for_the_password_then_carries_on(
    signed_in_page, catalog, settings
):
    settings.REAUTHENTICATE_AFTER = 0  # every destructive operation asks
    delete_through_the_password_page(signed_in_page, catalog["globex-lens"])


def age_the_password(page, seconds: float) -> None:
    """Move the browser's session's last password entry `seconds` into the past, as time
    passing would (accounts/sessions.py): no waiting on the clock."""
    (cookie,) = [c for c in page.context.cookies() if c["name"] == django_settings.SESSION_COOKIE_NAME]
    session = SessionStore(session_key=cookie["value"])
    session[AUTHENTICATED_AT] -= seconds
    session.save()


def test_a_deletion_after_the_reauthentication_window_asks_for_the_password_then_carries_on(
    signed_in_page, catalog, settings
):
    age_the_password(signed_in_page, settings.REAUTHENTICATE_AFTER + 1)  # the sign-in is now older than the window
    delete_through_the_password_page(signed_in_page, catalog["globex-lens"])


IDLE_MINUTES = 8  # the session's idle timeout in these tests: warned 2 minutes before its end


def session_of(page) -> Session:
    (cookie,) = [c for c in page.context.cookies() if c["name"] == django_settings.SESSION_COOKIE_NAME]
    return Session.objects.get(session_key=cookie["value"])


def let_time_pass_on_the_server(minutes: float) -> None:
    """Every stored session as it will be `minutes` from now: its expiry moved back by that
    much (Django ends a session whose expiry has passed)."""
    Session.objects.update(expire_date=F("expire_date") - datetime.timedelta(minutes=minutes))


def test_stay_signed_in_keeps_a_session_that_would_otherwise_end(new_page, superuser, settings):
    """Time passes on the pages' clocks (Playwright's, moved forward, not waited for) and,
    by as much, on the server's session rows."""
    settings.SESSION_IDLE_TIMEOUT = settings.SESSION_COOKIE_AGE = IDLE_MINUTES * 60
    staying, idle = new_page(), new_page()
    for page in (staying, idle):
        page.clock.install()
        sign_in(page, "alice")

    box = staying.locator("#llm-session")
    expect(box).to_be_hidden()  # not before the warning time
    staying.clock.fast_forward((IDLE_MINUTES - 1.5) * 60_000)
    let_time_pass_on_the_server(IDLE_MINUTES - 1.5)
    expect(box).to_be_visible()
    expect(box).to_contain_text("Your session is about to end.")
    expect(box.locator(".llm-session-detail")).to_contain_text(re.compile(r"It ends in \d+ s without activity"))
    box.get_by_role("button", name="Stay signed in").click()
    expect(box).to_be_hidden()
    renewed_by = session_of(staying).expire_date - session_of(idle).expire_date
    assert renewed_by > datetime.timedelta(minutes=IDLE_MINUTES - 2), renewed_by  # renewed on the server

    # The other tab did nothing and is told its session has ended ...
    idle.clock.fast_forward((IDLE_MINUTES + 0.5) * 60_000)
    expect(idle.locator("#llm-session .llm-session-detail")).to_contain_text("It has ended")
    expect(idle.locator("#llm-session .llm-stay")).to_be_hidden()
    # ... and it has; the one that stayed is still signed in past the original end.
    let_time_pass_on_the_server(2)
    staying.goto(MODELS_URL)
    expect(staying).to_have_url(re.compile(f"{MODELS_URL}$"))
    idle.goto(MODELS_URL)
    expect(idle).to_have_url(re.compile(r"/admin/login/"))


def test_stay_signed_in_on_a_session_that_already_ended_says_so(page, superuser, settings):
    settings.SESSION_IDLE_TIMEOUT = settings.SESSION_COOKIE_AGE = IDLE_MINUTES * 60
    page.clock.install()
    sign_in(page, "alice")
    Session.objects.all().delete()  # signed out elsewhere (another tab, an administrator)

    box = page.locator("#llm-session")
    page.clock.fast_forward((IDLE_MINUTES - 1.5) * 60_000)
    expect(box).to_be_visible()
    box.get_by_role("button", name="Stay signed in").click()

    # Within 1.5 s, well before the page's own deadline would say it anyway.
    expect(
        box.locator(".llm-session-detail"), "the session is gone: the page must say so, not that it was renewed"
    ).to_contain_text("It has ended", timeout=1_500)
    expect(box).to_be_visible()


# --- The dashboard ------------------------------------------------------------------------------


def test_the_dashboard_shows_counts_charts_recent_changes_and_deprecations(signed_in_page, catalog):
    today = timezone.localdate()
    acme = catalog["acme-chat"].provider
    successor = catalog["acme-chat"]
    AIModelFactory(
        name="acme-old",
        provider=acme,
        status=ModelStatus.DEPRECATED,
        deprecation_date=today - datetime.timedelta(days=10),
        successor=successor,
    )
    AIModelFactory(name="globex-soon", provider=acme, deprecation_date=today + datetime.timedelta(days=20))
    AIModelFactory(name="acme-later", provider=acme, deprecation_date=today + datetime.timedelta(days=200))
    AIModelFactory(
        name="acme-off", provider=acme, status=ModelStatus.INACTIVE, deprecation_date=today + datetime.timedelta(days=5)
    )
    page = signed_in_page
    page.goto("/admin/")

    cards = page.locator(".llm-cards .llm-card")
    expect(cards.first).to_have_text(re.compile(r"^\s*8\s+models\s*$"))
    expect(page.locator(".llm-card.llm-status-active")).to_have_text(re.compile(r"6\s+active"))
    expect(page.locator(".llm-card.llm-status-deprecated")).to_have_text(re.compile(r"1\s+deprecated"))
    expect(page.locator(".llm-card.llm-status-inactive")).to_have_text(re.compile(r"1\s+inactive"))

    by_provider = page.locator(".llm-chart", has=page.get_by_role("heading", name="By provider"))
    assert by_provider.locator(".llm-bar-label").all_inner_texts() == ["acme", "globex"]
    assert by_provider.locator(".llm-bar-count").all_inner_texts() == ["6", "2"]
    by_type = page.locator(".llm-chart", has=page.get_by_role("heading", name="By type"))
    assert by_type.locator(".llm-bar-label").all_inner_texts() == ["chat", "embedding"]
    assert by_type.locator(".llm-bar-count").all_inner_texts() == ["7", "1"]

    deprecations = page.locator(".llm-deprecations tbody tr")
    assert deprecations.locator("td:first-child").all_inner_texts() == ["acme-old", "globex-soon"]
    expect(deprecations.first).to_have_class(re.compile("llm-past"))
    expect(deprecations.first.locator("td").nth(2)).to_contain_text("(past)")
    expect(deprecations.first.locator("td").nth(3)).to_have_text("acme-chat")

    recent = page.locator("#recent-actions-module .llm-recent li")
    expect(recent.first).to_contain_text("create aimodel acme-off")
    expect(recent).to_have_count(10)  # 8 models and 2 providers created


def test_the_dashboard_cards_and_bars_open_the_model_list_filtered_by_them(signed_in_page, catalog):
    page = signed_in_page
    aimodel_update(model=catalog["globex-chat"], actor=None, status=ModelStatus.INACTIVE)
    page.goto("/admin/")
    chart = {
        title: page.locator(".llm-chart", has=page.get_by_role("heading", name=title))
        for title in ("By provider", "By type")
    }

    with page.expect_navigation():
        page.locator(".llm-card.llm-status-inactive").click()
    assert listed_names(page) == ["globex-chat"]

    page.goto("/admin/")
    with page.expect_navigation():
        chart["By type"].get_by_role("link", name=re.compile("embedding")).click()
    assert listed_names(page) == ["acme-embed"]

    page.goto("/admin/")
    with page.expect_navigation() as navigation:
        chart["By provider"].get_by_role("link", name=re.compile("globex")).click()
    assert navigation.value.status == 200, f"{page.url} answered {navigation.value.status}: {page.inner_text('body')}"
    assert listed_names(page) == ["globex-chat", "globex-lens"]


# --- Screenshots for the README -------------------------------------------------------------------


def test_readme_screenshots(signed_in_page, tmp_path):
    """Takes the README's screenshots; into docs/screenshots/ with LLM_ADMIN_SCREENSHOTS=1."""
    spec = importlib.util.spec_from_file_location("make_screenshots", REPO / "docs/screenshots/make_screenshots.py")
    screenshots = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(screenshots)
    call_command("load_starter_catalog")
    out_dir = screenshots.OUT_DIR if os.environ.get("LLM_ADMIN_SCREENSHOTS") == "1" else tmp_path

    written = screenshots.take_screenshots(signed_in_page, out_dir)

    assert [path.name for path in written] == ["model-list.png", "dashboard.png", "model-form.png"]
    assert all(path.stat().st_size > 20_000 for path in written)
