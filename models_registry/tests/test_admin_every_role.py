"""Every admin page, as every role, with any query string, answers 200, 302, 403 or 404,
never a 500 (issue 10, item 16); a Model Viewer can read every page it may view; a
model's history with an unknown or malformed id is a 404 (item 14).

The crawl starts at /admin/ and follows every same-site link, then asks for the add,
change, delete and history pages (and the extra pages) of every registered model admin,
with real ids from the seeded data and with bad ones, plain and with junk query strings.
"""

import html
import re
from collections import deque
from datetime import timedelta
from urllib.parse import urljoin, urlsplit

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.services import api_token_create
from audit.choices import SecurityEventType
from audit.security import record_security_event
from models_registry.models import AIModel
from models_registry.services import aimodel_update, dependency_register
from models_registry.services.scheduled import scheduled_change_create
from models_registry.tests.factories import AIModelFactory, ProviderFactory, profile
from webhooks.dispatch import dispatch_events
from webhooks.models import WebhookAttempt
from webhooks.services import subscription_create

pytestmark = pytest.mark.django_db

ANSWERS = {200, 302, 403, 404}
ROLES = ["viewer", "editor", "admin", "superuser"]
CRAWL_LIMIT = 150  # pages reached by following links from /admin/, per role
# What the admin does not understand, or understands and must refuse without a 500.
JUNK_QUERIES = [
    "zzz=1", "o=garbage", "o=1.-2.x", "o=99", "o=-", "p=-1", "p=abc", "p=99999999999999999999", "q=%00",
    "q=%ED%A0%80", "q=%25", "q=%zz", "q=%F0%9F", "q=" + "x" * 3000, "e=1", "format=csv", "export_format=pdf",
    "_changelist_filters=%00junk", "_changelist_filters=o%3Dbogus%26p%3D-1%26zzz%3D1", "status=bogus",
    "status__exact=%00", "provider__id__exact=abc", "provider__id__exact=%00", "industry=%00", "capability=%00",
    "capability=telepathy", "has_dependencies=maybe", "deprecation=zzz", "timestamp__gte=notadate",
    "timestamp__year=abc", "timestamp__year=2020&timestamp__month=13", "timestamp__year=99999999999",
    "action=nonsense", "user=%00", "user=abc", "event=%00", "_popup=1", "_to_field=password", "_to_field=%00",
    "all=", "id__in=1,abc", "pk=%00", "name__regex=(a+)+$", "_facets=1", "q=a&q=b&o=1&o=x",
    "provider=Not%20a%20slug", "model_type=", "has_dependencies=", "industry=general&industry=", "q=%5B%22",
    "provider=acme&provider=openai&_facets=1",
]  # fmt: skip
PAGE_JUNK = ["zzz=1", "_changelist_filters=%00", "_changelist_filters=p%3D-1", "_popup=1", "_to_field=%00", "e=1"]
BAD_IDS = ["999999999", "99999999999999999999", "abc", "-1", "%00", "%ED%A0%80"]


@pytest.fixture
def seeded(make_user):
    """At least one row behind every registered model admin, and models in every state."""
    subscription, _ = subscription_create(actor=None, name="hooks", url="https://hooks.example.com/x")
    openai = ProviderFactory(slug="openai", name="OpenAI")
    newer = AIModelFactory(name="gpt-new", provider=openai, industries=[profile("general")], aliases=["gpt-latest"])
    older = AIModelFactory(name="gpt-old", provider=openai, status="deprecated", capabilities=["vision"])
    aimodel_update(model=older, actor=None, successor=newer, deprecation_date=timezone.localdate())
    AIModelFactory(name="embed-1", provider=ProviderFactory(slug="acme"), model_type="embedding", status="inactive")
    dependency_register(model=newer, component_type="agent", component_id="bot-1", component_name="Bot", actor=None)
    dependency_register(model=older, component_type="agent", component_id="bot-2", owner="team", actor=None)
    scheduled_change_create(model=older, status="inactive", at=timezone.now() + timedelta(days=30), actor=None)
    owner = make_user("viewer", username="token-owner")
    api_token_create(user=owner, name="seeded")
    record_security_event(SecurityEventType.LOGIN_FAILED, detail={"seeded": True})
    AccessAttempt.objects.create(username="x", ip_address="127.0.0.1", user_agent="t", failures_since_start=1)
    AccessLog.objects.create(username="x", ip_address="127.0.0.1", user_agent="t")
    AccessFailureLog.objects.create(username="x", ip_address="127.0.0.1", user_agent="t")
    dispatch_events()
    delivery = subscription.deliveries.order_by("pk").first()
    WebhookAttempt.objects.create(delivery=delivery, number=1, at=timezone.now(), status_code=500, duration_ms=3)
    return [newer, older]


def tampered(url: str, status: int) -> bool:
    """Django's own refusal of a `_to_field` it does not offer (a SuspiciousOperation, 400
    on purpose: the parameter picks which column a popup reveals). Nothing else may be 400."""
    return status == 400 and "_to_field=" in url


def user_in(role: str, make_user):
    if role == "superuser":
        return get_user_model().objects.create_superuser("root", password="correct horse battery staple")
    return make_user(role, username=f"staff-{role}", is_staff=True)


def signed_in(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def object_pages() -> dict[str, list[str]]:
    """{page: the junk query strings to send it too}: the changelist, add, change, delete
    and history pages of every registered model admin (of a real object, and of bad ids),
    and the extra pages of the model list."""
    pages = {}
    for model in admin.site._registry:
        opts = model._meta
        name = f"admin:{opts.app_label}_{opts.model_name}"
        changelist = reverse(f"{name}_changelist")
        pages[changelist] = JUNK_QUERIES
        pages[reverse(f"{name}_add")] = PAGE_JUNK
        real = model._default_manager.order_by("pk").values_list("pk", flat=True).first()
        assert real is not None, f"the seed has no {opts.label}"
        for view in ("change", "delete", "history"):
            pages[reverse(f"{name}_{view}", args=[real])] = PAGE_JUNK
            pages.update({f"{changelist}{bad}/{view}/": [] for bad in BAD_IDS})
        pages.update({f"{changelist}{bad}/": [] for bad in [real, *BAD_IDS]})
    pages[reverse("admin:models_registry_aimodel_export")] = JUNK_QUERIES
    pages[reverse("admin:audit_auditentry_export")] = JUNK_QUERIES
    pages[reverse("admin:models_registry_aimodel_check_name")] = ["name=gpt-new&id=abc", "name=%00", "id=%00"]
    pages[reverse("admin:models_registry_aimodel_import")] = PAGE_JUNK
    pages[reverse("admin:models_registry_aimodel_import_confirm")] = PAGE_JUNK
    pages[reverse("admin:models_registry_aimodel_drift")] = PAGE_JUNK
    pages[reverse("admin:models_registry_aimodel_drift_accept")] = PAGE_JUNK
    for model in AIModel.objects.order_by("pk"):  # with and without a successor
        pages[reverse("admin:models_registry_aimodel_move_dependents", args=[model.pk])] = PAGE_JUNK
    pages.update({f"/admin/models_registry/aimodel/{bad}/move-dependents/": [] for bad in BAD_IDS})
    return pages


def links_of(url: str, body: str) -> list[str]:
    found = []
    for href in re.findall(r'href="([^"#]*)', body):
        target = urljoin(url, html.unescape(href))
        parts = urlsplit(target)
        if parts.netloc in ("", "testserver") and parts.path.startswith("/admin/") and "logout" not in parts.path:
            found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def with_query(url: str, query: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{query}"


def crawl(client: Client) -> dict[str, int]:
    """{url: status} for the pages reached from /admin/ by links, then every object page,
    plain and with junk query strings."""
    answers: dict[str, int] = {}

    def visit(url: str) -> str | None:
        if url in answers:
            return None
        response = client.get(url)
        answers[url] = response.status_code
        is_html = response.status_code == 200 and "text/html" in response.get("Content-Type", "")
        return response.content.decode() if is_html and not response.streaming else None

    queue = deque(["/admin/"])
    while queue and len(answers) < CRAWL_LIMIT:
        url = queue.popleft()
        body = visit(url)
        if body is not None:
            queue.extend(link for link in links_of(url, body) if link not in answers)
    for page, junk_queries in object_pages().items():
        visit(page)
        for junk in junk_queries:
            visit(with_query(page, junk))
    return answers


@pytest.mark.sweep
@pytest.mark.parametrize("role", ROLES)
def test_no_admin_page_is_a_server_error_for_any_role(role, make_user, seeded):
    answers = crawl(signed_in(user_in(role, make_user)))

    wrong = {url: status for url, status in answers.items() if status not in ANSWERS and not tampered(url, status)}
    assert len(answers) > 500
    assert wrong == {}, f"{len(wrong)} of {len(answers)} pages: {sorted(wrong.items())[:40]}"


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_staff_can_read_every_page_their_role_may_view(role, make_user, seeded):
    """The Model Viewer's (and Editor's) pages: every model's page, list and history, and
    every other registry table they may view."""
    user = user_in(role, make_user)
    client = signed_in(user)
    readable = [
        (model, model_admin)
        for model, model_admin in admin.site._registry.items()
        if user.has_perm(f"{model._meta.app_label}.view_{model._meta.model_name}")
    ]

    assert {model._meta.model_name for model, _ in readable} >= {"aimodel", "provider", "industry", "modeldependency"}
    for model, _ in readable:
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        assert client.get(reverse(f"{name}_changelist")).status_code == 200, name
        for pk in model._default_manager.values_list("pk", flat=True):
            response = client.get(reverse(f"{name}_change", args=[pk]))
            assert response.status_code == 200, (name, pk, response.status_code)
    for pk in seeded[0].__class__.objects.values_list("pk", flat=True):
        assert client.get(reverse("admin:models_registry_aimodel_history", args=[pk])).status_code == 200


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("bad_id", BAD_IDS)
def test_a_model_history_with_a_bad_id_is_a_404(role, bad_id, make_user, seeded):
    client = signed_in(user_in(role, make_user))

    response = client.get(f"/admin/models_registry/aimodel/{bad_id}/history/")

    assert response.status_code == 404


def test_a_model_history_without_the_permission_is_a_403_whatever_the_id(seeded):
    staff = get_user_model().objects.create_user("no-role", password="x", is_staff=True)
    client = signed_in(staff)

    answers = {client.get(f"/admin/models_registry/aimodel/{pk}/history/").status_code for pk in [seeded[0].pk, "abc"]}

    assert answers == {403}


def test_the_filtered_export_refuses_a_parameter_it_does_not_know_as_the_list_does(make_user, seeded):
    client = signed_in(user_in("viewer", make_user))

    refused = client.get("/admin/models_registry/aimodel/export/?format=csv")
    exported = client.get("/admin/models_registry/aimodel/export/?status=deprecated&export_format=csv")

    assert refused.status_code == 302
    assert refused["Location"] == "/admin/models_registry/aimodel/?e=1"
    assert client.get(refused["Location"]).status_code == 200
    rows = b"".join(exported.streaming_content).decode().splitlines()
    assert [row.split(",")[0] for row in rows[1:]] == ["gpt-old"]
