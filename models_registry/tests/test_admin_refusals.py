"""The admin for staff who are not superusers (issue 13, item 7): a Model Viewer and a
Model Editor try what their role may not do (bulk actions, deleting, importing, the audit
and security logs, reverting, webhooks); each refusal is a 403 and one security-log row
naming the user and the path, and nothing in the registry changes. What the role may do
works.

The actions tried are every action of every registered model admin, so a new action is
covered: a user may run it exactly when they hold the permissions the action declares
(`@admin.action(permissions=[...])`). The pages are the contract's rights (docs/contract.md
§2): viewers read; editors also create and change models; administrators also delete, run
bulk operations, import and read the audit and security logs.
"""

import time

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from accounts.sessions import AUTHENTICATED_AT
from audit.choices import SecurityEventType
from audit.models import AuditEntry, SecurityEvent
from models_registry.models import AIModel, ModelDependency, ScheduledChange
from models_registry.services import dependency_register
from models_registry.services.scheduled import scheduled_change_create
from models_registry.tests.factories import AIModelFactory, ProviderFactory
from webhooks.dispatch import dispatch_events
from webhooks.models import WebhookDelivery, WebhookSubscription
from webhooks.services import subscription_create

pytestmark = pytest.mark.django_db

ROLES = ["viewer", "editor"]
# What a role may do beyond reading, by the contract (§2): editors create and change models.
MAY = {"viewer": set(), "editor": {"add", "change"}, "admin": {"add", "change", "delete", "bulk", "import"}}
CSV = "name,provider,model_type\nimported-model,acme,chat\n"


@pytest.fixture
def registry():
    """A row behind every admin that has actions, and a model with and without a dependent."""
    provider = ProviderFactory(slug="acme")
    model = AIModelFactory(name="gpt-refused", provider=provider)
    spare = AIModelFactory(name="gpt-spare", provider=provider, status="inactive")
    dependency_register(model=spare, component_type="agent", component_id="bot", actor=None)
    scheduled_change_create(model=model, status="inactive", at=timezone.now() + timezone.timedelta(days=9), actor=None)
    subscription_create(actor=None, name="hooks", url="https://hooks.example.com/x")
    dispatch_events()
    return {"model": model, "entry": AuditEntry.objects.order_by("pk").first()}


def registry_state() -> tuple:
    return (
        list(AIModel.objects.order_by("pk").values()),
        list(ModelDependency.objects.order_by("pk").values_list("pk", "model_id")),
        list(ScheduledChange.objects.order_by("pk").values_list("pk", "state")),
        list(WebhookSubscription.objects.order_by("pk").values_list("pk", "active", "cursor")),
        list(WebhookDelivery.objects.order_by("pk").values_list("pk", "state", "attempts", "next_attempt_at")),
        AuditEntry.objects.count(),
    )


def staff(role: str, make_user):
    return make_user(role, username=f"staff-{role}", is_staff=True)


def signed_in(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def refusals_of(user) -> list[tuple[str, str, str]]:
    return list(
        SecurityEvent.objects.filter(event=SecurityEventType.PERMISSION_DENIED).values_list(
            "username", "method", "path"
        )
    )


def assert_refused(client, user, method: str, path: str, data=None):
    before_state, before_log = registry_state(), refusals_of(user)

    response = getattr(client, method)(path, data or {})

    assert response.status_code == 403, (method, path, response.status_code, response.get("Location"))
    assert refusals_of(user) == [*before_log, (user.username, method.upper(), path)]
    assert registry_state() == before_state


# --- actions, from every registered model admin ------------------------------------------


def every_action() -> list[tuple[type, str]]:
    """(model, action name) for every action any model admin offers anyone."""
    found = []
    for model, model_admin in admin.site._registry.items():
        for function in model_admin.actions or []:
            name = function if isinstance(function, str) else function.__name__
            found.append((model, name))
    return sorted(found, key=lambda pair: (pair[0]._meta.label, pair[1]))


def declared_permissions(model, name: str) -> list[str]:
    model_admin = admin.site._registry[model]
    function = getattr(model_admin, name, None) or next(
        f for f in model_admin.actions if not isinstance(f, str) and f.__name__ == name
    )
    return list(getattr(function, "allowed_permissions", ()))


def may_run(user, model, name: str) -> bool:
    """Whether the user holds every right the action declares, as its admin reads each right
    (`has_<right>_permission`); an action that declares none needs the list's view right."""
    model_admin = admin.site._registry[model]
    request = RequestFactory().post("/")
    request.user = user
    rights = declared_permissions(model, name) or ["view"]
    return all(getattr(model_admin, f"has_{right}_permission")(request) for right in rights)


ACTIONS = every_action()


def test_the_actions_cover_bulk_operations_exports_and_webhooks():
    names = {name for _, name in ACTIONS}
    assert {"bulk_activate", "bulk_deactivate", "bulk_deprecate", "bulk_delete", "export_csv"} <= names
    assert {"send_test", "replay", "redeliver", "cancel_selected"} <= names
    undeclared = [(model._meta.label, name) for model, name in ACTIONS if not declared_permissions(model, name)]
    assert undeclared == [("axes.AccessAttempt", "cleanup_expired_attempts")]  # django-axes' own


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("model", "action"), ACTIONS, ids=[f"{m._meta.model_name}.{a}" for m, a in ACTIONS])
def test_an_action_the_role_may_not_run_is_a_403_and_a_security_log_row(role, model, action, make_user, registry):
    user = staff(role, make_user)
    opts = model._meta
    changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    pk = model._default_manager.order_by("pk").values_list("pk", flat=True).first()
    data = {"action": action, "_selected_action": [pk], "index": "0", "select_across": "0"}
    if may_run(user, model, action):  # (what each allowed one does: the tests below)
        response = signed_in(user).post(changelist, data)
        assert response.status_code in (200, 302) and not refusals_of(user)
        return

    assert_refused(signed_in(user), user, "post", changelist, data)


def test_an_old_sign_in_is_refused_before_it_is_asked_for_the_password(make_user, registry, settings):
    """Deleting asks for the password again after REAUTHENTICATE_AFTER; someone who may not
    delete at all is refused, not asked."""
    user = staff("editor", make_user)
    client = signed_in(user)
    session = client.session
    session[AUTHENTICATED_AT] = time.time() - settings.REAUTHENTICATE_AFTER - 60
    session.save()
    pk = registry["model"].pk

    assert_refused(client, user, "post", reverse("admin:models_registry_aimodel_delete", args=[pk]), {"post": "yes"})


def test_an_editor_cancels_a_scheduled_change(make_user, registry):
    client = signed_in(staff("editor", make_user))
    change = ScheduledChange.objects.get()

    response = client.post(
        reverse("admin:models_registry_scheduledchange_changelist"),
        {"action": "cancel_selected", "_selected_action": [change.pk], "index": "0", "select_across": "0"},
    )

    assert response.status_code == 302
    assert ScheduledChange.objects.get().state == "cancelled"


def test_the_contract_s_rights_hold_for_the_actions(make_user):
    """The anchor for the derived cases: no viewer or editor may run a bulk operation or
    touch webhooks; an administrator may; viewers may export; editors (who change models)
    may cancel a scheduled change, viewers may not."""
    viewer, editor, administrator = (staff(role, make_user) for role in ["viewer", "editor", "admin"])
    bulk = [name for model, name in ACTIONS if model is AIModel and name.startswith("bulk_")]

    assert len(bulk) == 4
    assert not any(may_run(user, AIModel, name) for user in (viewer, editor) for name in bulk)
    assert all(may_run(administrator, AIModel, name) for name in bulk)
    assert may_run(viewer, AIModel, "export_csv")
    assert may_run(editor, ScheduledChange, "cancel_selected")
    assert not may_run(viewer, ScheduledChange, "cancel_selected")
    for user in (viewer, editor):
        assert not may_run(user, WebhookSubscription, "send_test") and not may_run(user, WebhookDelivery, "redeliver")


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
def test_a_viewer_exports_the_selected_models(fmt, make_user, registry):
    client = signed_in(staff("viewer", make_user))
    pk = registry["model"].pk

    response = client.post(
        reverse("admin:models_registry_aimodel_changelist"),
        {"action": f"export_{fmt}", "_selected_action": [pk], "index": "0", "select_across": "0"},
    )

    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="models.{fmt}"'
    assert b"".join(response.streaming_content)


def test_an_administrator_runs_a_bulk_operation(make_user, registry):
    client = signed_in(staff("admin", make_user))
    model = registry["model"]

    response = client.post(
        reverse("admin:models_registry_aimodel_changelist"),
        {"action": "bulk_deprecate", "_selected_action": [model.pk], "index": "0", "select_across": "0"},
    )

    assert response.status_code == 200
    assert AIModel.objects.get(pk=model.pk).status == "deprecated"


# --- pages --------------------------------------------------------------------------------


def pages(registry) -> list[tuple[str, str, str, dict | None]]:
    """(right needed, method, path, data) for the admin's pages beyond reading."""
    model, entry = registry["model"], registry["entry"]
    delete = reverse("admin:models_registry_aimodel_delete", args=[model.pk])
    change = reverse("admin:models_registry_aimodel_change", args=[model.pk])
    imports = reverse("admin:models_registry_aimodel_import")
    confirm = reverse("admin:models_registry_aimodel_import_confirm")
    revert_entry = reverse("admin:models_registry_aimodel_revert_entry", args=[entry.pk])
    revert_request = reverse("admin:models_registry_aimodel_revert_request", args=[entry.request_id or "r"])
    moving = reverse("admin:models_registry_aimodel_move_dependents", args=[model.pk])
    return [
        ("delete", "get", delete, None),
        ("delete", "post", delete, {"post": "yes"}),
        ("import", "get", imports, None),
        ("import", "post", imports, {"file": csv_upload(), "format": "csv"}),
        ("import", "post", confirm, {"token": "0" * 32}),
        ("audit", "get", reverse("admin:audit_auditentry_changelist"), None),
        ("audit", "get", reverse("admin:audit_auditentry_change", args=[entry.pk]), None),
        ("audit", "get", reverse("admin:audit_auditentry_export"), None),
        ("audit", "get", reverse("admin:audit_securityevent_changelist"), None),
        ("audit", "get", revert_entry, None),
        ("audit", "post", revert_entry, {"reason": "undo"}),
        ("audit", "get", revert_request, None),
        ("audit", "get", reverse("admin:webhooks_webhooksubscription_changelist"), None),
        ("add", "get", reverse("admin:models_registry_aimodel_add"), None),
        ("add", "post", reverse("admin:models_registry_aimodel_add"), {"name": "new-model"}),
        ("change", "post", change, {"name": "renamed-model"}),
        ("change", "get", moving, None),
        ("change", "get", reverse("admin:models_registry_aimodel_drift"), None),
    ]


def csv_upload():
    return SimpleUploadedFile("models.csv", CSV.encode(), content_type="text/csv")


PAGE_IDS = [
    "delete-get", "delete-post", "import-get", "import-post", "import-confirm", "audit-list", "audit-entry",
    "audit-export", "security-log", "revert-entry-get", "revert-entry-post", "revert-request", "webhooks",
    "add-get", "add-post", "change-post", "move-dependents", "drift",
]  # fmt: skip


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("index", range(len(PAGE_IDS)), ids=PAGE_IDS)
def test_a_page_beyond_the_role_is_a_403_and_a_security_log_row(role, index, make_user, registry):
    right, method, path, data = pages(registry)[index]
    user = staff(role, make_user)
    client = signed_in(user)
    if right in MAY[role]:
        response = getattr(client, method)(path, data or {})
        assert response.status_code in (200, 302), (path, response.status_code)
        assert not refusals_of(user)
        return

    assert_refused(client, user, method, path, data)


def test_the_pages_are_listed_once_each(registry):
    assert len(pages(registry)) == len(PAGE_IDS)


def test_the_roles_rights_are_the_contract_s(make_user):
    """Where MAY comes from: the groups' permissions as the migrations create them."""
    held = {
        role: set(Permission.objects.filter(group__user=staff(role, make_user)).values_list("codename", flat=True))
        for role in ["viewer", "editor", "admin"]
    }

    assert "change_aimodel" not in held["viewer"] and "add_aimodel" not in held["viewer"]
    assert {"add_aimodel", "change_aimodel"} <= held["editor"]
    assert not {"delete_aimodel", "bulk_aimodel", "import_aimodel", "view_auditentry"} & held["editor"]
    assert {"delete_aimodel", "bulk_aimodel", "import_aimodel", "view_auditentry"} <= held["admin"]
