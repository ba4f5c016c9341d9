"""The admin's catalog drift page (issue 14, item 5): upload an upstream catalog, see how the
registry differs from it, tick rows and accept them. Checked with the shared LiteLLM catalog
against an older state of it made here; every role; stale previews; what the audit log keeps."""

import json
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Sum
from django.test import Client

from audit.choices import SecurityEventType
from audit.models import AuditEntry, SecurityEvent
from models_registry.importing import import_models, read_source
from models_registry.importing.drift import catalog_drift
from models_registry.models import AIModel, Provider
from models_registry.services import aimodel_update
from models_registry.tests.admin_pages import form_fields, page_of, staff
from models_registry.tests.factories import AIModelFactory, ProviderFactory
from models_registry.tests.test_catalog_drift import CATALOG, priced_chat_models, upstream_now

pytestmark = pytest.mark.django_db

DRIFT = "/admin/models_registry/aimodel/drift/"
ACCEPT = f"{DRIFT}accept/"
needs_catalog = pytest.mark.skipif(not CATALOG.exists(), reason=f"the LiteLLM catalog is not at {CATALOG}")


def upload(client: Client, catalog: dict | bytes, name: str = "model_prices_and_context_window.json", **fields):
    """The upload form as a browser sends it (its CSRF token included)."""
    data = form_fields(page_of(client.get(DRIFT)), "drift-form")
    content = catalog if isinstance(catalog, bytes) else json.dumps(catalog).encode()
    return client.post(DRIFT, data | fields | {"file": SimpleUploadedFile(name, content)})


def accept(client: Client, preview, *names: str, **fields):
    """The preview page's form as a browser sends it, with `names` ticked."""
    data = form_fields(page_of(preview), "drift-accept")
    data.pop("accept", None)
    data |= {"accept": list(names)} | {name: [value] for name, value in fields.items()}
    return client.post(ACCEPT, data)


def rows_of(response, kind: str) -> list[str]:
    table = page_of(response).find("table", id=f"drift-{kind}")
    if table is None:
        return []
    return [node.attrs["data-model"] for node in table.walk() if node.tag == "tr" and "data-model" in node.attrs]


def signed_in(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def per_million(per_token: float) -> Decimal:
    return Decimal(str(per_token)) * 1_000_000


@pytest.fixture
def catalogs():
    """(the catalog now, what it adds, what it reprices) with the registry holding an older
    state of it: four priced chat models not there yet, three at twice today's input
    price, a chat model since dropped upstream, and one dropped and deprecated already."""
    if not CATALOG.exists():
        pytest.skip(f"the LiteLLM catalog is not at {CATALOG}")
    now = upstream_now()
    chat = priced_chat_models(now)
    arrived, repriced = chat[:4], chat[10:13]
    older = {name: dict(entry) for name, entry in now.items() if name not in arrived}
    for name in repriced:
        older[name]["input_cost_per_token"] = now[name]["input_cost_per_token"] * 2
    older["acme-retired-chat"] = {"litellm_provider": "openai", "mode": "chat", "max_input_tokens": 4096}
    older["acme-deprecated-chat"] = {"litellm_provider": "openai", "mode": "chat", "max_input_tokens": 4096}
    import_models(read_source_of(older), actor=None, skip_invalid=True)
    AIModel.objects.filter(name="acme-deprecated-chat").update(status="deprecated")
    return now, arrived, repriced


def read_source_of(catalog: dict):
    return read_source("older.json", json.dumps(catalog).encode(), "litellm")


# --- Who may ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", None])
def test_without_the_change_right_every_drift_page_is_a_403_in_the_security_log(role):
    user = staff("viewer")
    if role is None:
        user.groups.clear()  # staff, in no role
    client = signed_in(user)
    client.handler.enforce_csrf_checks = False

    answers = [
        client.get(DRIFT).status_code,
        client.post(
            DRIFT, {"file": SimpleUploadedFile("c.json", b'{"gpt-x": {"litellm_provider": "openai"}}')}
        ).status_code,
        client.post(ACCEPT, {"token": "0" * 32, "accept": ["gpt-x"]}).status_code,
    ]

    assert answers == [403, 403, 403]
    denied = SecurityEvent.objects.filter(event=SecurityEventType.PERMISSION_DENIED, username=user.username)
    assert denied.aggregate(Sum("count"))["count__sum"] == 3  # (counted in one row per minute)
    assert not AIModel.objects.filter(name="gpt-x").exists()


@pytest.mark.parametrize("role", ["editor", "admin", "superuser"])
def test_editors_and_up_compare_and_accept(role):
    user = staff(superuser=True) if role == "superuser" else staff(role)
    client = signed_in(user)
    model = AIModelFactory(name="gpt-x", provider=ProviderFactory(slug="openai"), context_window=8000)

    form = client.get(DRIFT)
    preview = upload(client, {"gpt-x": {"litellm_provider": "openai", "mode": "chat", "max_input_tokens": 9000}})
    done = accept(client, preview, "gpt-x")

    assert form.status_code == 200
    assert rows_of(preview, "changed") == ["gpt-x"]
    assert done.status_code == 302
    model.refresh_from_db()
    assert model.context_window == 9000


def test_the_model_list_links_to_the_page_for_editors_not_viewers():
    editor_list = signed_in(staff("editor")).get("/admin/models_registry/aimodel/")
    viewer_list = signed_in(staff("viewer")).get("/admin/models_registry/aimodel/")

    assert b'id="catalog-drift"' in editor_list.content
    assert b'id="catalog-drift"' not in viewer_list.content


# --- With the shared LiteLLM catalog ------------------------------------------------------------


@needs_catalog
def test_the_page_shows_new_changed_and_gone_with_registry_and_upstream_values(catalogs):
    now, arrived, repriced = catalogs
    entries_before = AuditEntry.objects.count()
    client = signed_in(staff("editor"))

    preview = upload(client, now)

    assert preview.status_code == 200
    assert rows_of(preview, "new") == sorted(arrived, key=str.lower)
    assert rows_of(preview, "changed") == sorted(repriced, key=str.lower)
    assert rows_of(preview, "gone") == ["acme-retired-chat"]  # the deprecated one is not "gone" any more
    text = preview.content.decode()
    for name in repriced:
        price = per_million(now[name]["input_cost_per_token"])
        assert f"<del>{(price * 2).normalize()}</del>" in text
        assert f"<ins>{price.normalize()}</ins>" in text
    assert AuditEntry.objects.count() == entries_before  # a comparison changes nothing


@needs_catalog
def test_accepting_ticked_rows_applies_only_them_as_one_audited_change(catalogs):
    now, arrived, repriced = catalogs
    client = signed_in(staff("editor"))
    preview = upload(client, now)
    mark = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
    before = {m.name: m for m in AIModel.objects.filter(name__in=repriced)}

    done = accept(client, preview, arrived[0], repriced[0], "acme-retired-chat", reason="weekly catalog sync")

    assert done.status_code == 302 and done["Location"] == "/admin/models_registry/aimodel/"
    entries = list(AuditEntry.objects.filter(id__gt=mark).order_by("id"))
    assert [(e.object_repr, e.action) for e in entries] == [
        (arrived[0], "create"),
        (repriced[0], "update"),
        ("acme-retired-chat", "update"),
    ]
    assert {(e.source, e.request_id) for e in entries} == {("import", done["X-Request-ID"])}
    assert {e.reason for e in entries} == {"catalog drift model_prices_and_context_window.json: weekly catalog sync"}
    assert set(entries[1].changes) == {"input_cost_per_million_tokens"}  # only the field that drifted
    assert entries[2].changes == {"status": {"old": "active", "new": "deprecated"}}
    assert AIModel.objects.get(name="acme-retired-chat").status == "deprecated"  # deprecated, never deleted
    priced = AIModel.objects.get(name=repriced[0]).input_cost_per_million_tokens
    assert priced == per_million(now[repriced[0]]["input_cost_per_token"])
    assert not AIModel.objects.filter(name__in=arrived[1:]).exists()  # not ticked: not applied
    for name in repriced[1:]:
        assert (
            AIModel.objects.get(name=name).input_cost_per_million_tokens == before[name].input_cost_per_million_tokens
        )
    (message,) = client.get(done["Location"]).context["messages"]
    assert str(message).startswith(
        "Catalog drift from model_prices_and_context_window.json accepted: 1 created, 1 updated"
    )


@needs_catalog
def test_accepting_every_row_leaves_the_registry_in_sync(catalogs):
    now, arrived, repriced = catalogs
    client = signed_in(staff("admin"))
    preview = upload(client, now)

    accept(client, preview, *arrived, *repriced, "acme-retired-chat")

    again = upload(client, now)
    assert b'id="drift-in-sync"' in again.content
    assert catalog_drift(read_source_of(now)).in_sync


@needs_catalog
def test_a_row_changed_in_the_registry_since_the_preview_refuses_the_acceptance(catalogs):
    now, _, repriced = catalogs
    client = signed_in(staff("editor"))
    preview = upload(client, now)
    aimodel_update(model=AIModel.objects.get(name=repriced[0]), actor=None, input_cost_per_million_tokens=Decimal("7"))
    mark = AuditEntry.objects.count()

    refused = accept(client, preview, repriced[0], repriced[1])

    assert refused.status_code == 200
    assert AuditEntry.objects.count() == mark  # nothing at all applied, not even the row still as shown
    text = refused.content.decode()
    assert f"The registry changed since the preview for {repriced[0]}" in text
    assert "<del>7</del>" in text  # the drift as it is now
    assert AIModel.objects.get(name=repriced[0]).input_cost_per_million_tokens == Decimal("7")

    done = accept(client, refused, repriced[0])  # accepted again, as it is now shown

    assert done.status_code == 302
    assert AIModel.objects.get(name=repriced[0]).input_cost_per_million_tokens == per_million(
        now[repriced[0]]["input_cost_per_token"]
    )


@needs_catalog
def test_a_model_created_meanwhile_is_not_overwritten_as_new(catalogs):
    now, arrived, _ = catalogs
    client = signed_in(staff("editor"))
    preview = upload(client, now)
    AIModelFactory(name=arrived[0], provider=Provider.objects.get(slug=now[arrived[0]]["litellm_provider"]))
    mark = AuditEntry.objects.count()

    refused = accept(client, preview, arrived[0])

    assert "The registry changed since the preview" in refused.content.decode()
    assert AuditEntry.objects.count() == mark


# --- Other refusals -----------------------------------------------------------------------------


def test_a_new_provider_takes_the_right_to_add_providers():
    catalog = {"fresh-model": {"litellm_provider": "fresh-cloud", "mode": "chat"}}
    editor, administrator = signed_in(staff("editor")), signed_in(staff("admin"))

    refused = accept(editor, upload(editor, catalog), "fresh-model")
    done = accept(administrator, upload(administrator, catalog), "fresh-model")

    assert "Creating providers takes the right to add providers: fresh-cloud." in refused.content.decode()
    assert done.status_code == 302
    assert AIModel.objects.get(name="fresh-model").provider.slug == "fresh-cloud"


def test_nothing_ticked_a_reason_too_long_or_a_lost_upload_apply_nothing():
    AIModelFactory(name="gpt-x", provider=ProviderFactory(slug="openai"), context_window=8000)
    client = signed_in(staff("editor"))
    catalog = {"gpt-x": {"litellm_provider": "openai", "mode": "chat", "max_input_tokens": 9000}}
    preview = upload(client, catalog)

    nothing = accept(client, preview)
    too_long = accept(client, preview, "gpt-x", reason="x" * 400)
    unknown = accept(client, preview, "not-in-the-drift")
    data = form_fields(page_of(preview), "drift-accept") | {"token": ["f" * 32], "accept": ["gpt-x"]}
    lost = client.post(ACCEPT, data)

    assert "Tick the rows to accept." in nothing.content.decode()
    assert "Ensure this value has at most" in too_long.content.decode()
    assert "Tick the rows to accept." in unknown.content.decode()
    assert lost.status_code == 302 and lost["Location"] == DRIFT
    assert AIModel.objects.get(name="gpt-x").context_window == 8000
    assert client.get(ACCEPT).status_code == 302


@pytest.mark.parametrize(
    "content, says",
    [
        (b"{not json", "Not valid JSON"),
        (b'{"bad name!": {"litellm_provider": "openai", "mode": "chat"}}', "No entry in it describes a model"),
    ],
)
def test_a_file_it_cannot_compare_is_refused_on_the_form(content, says):
    client = signed_in(staff("editor"))

    response = upload(client, content, "catalog.json", format="litellm")

    assert response.status_code == 200
    assert says in response.content.decode()
