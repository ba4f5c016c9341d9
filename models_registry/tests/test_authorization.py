"""Property 13: Authorization Enforcement.

Every endpoint answers exactly the roles docs/contract.md §2 gives the right, and every
refusal is logged."""

from collections import Counter
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase
from rest_framework.test import APIClient

from accounts.tests.users import new_user, token_client
from audit.models import SecurityEvent
from models_registry.models import Industry
from models_registry.tests.factories import AIModelFactory, ModelDependencyFactory, ProviderFactory

# =====================================================================================
# Property 13: Authorization Enforcement
# =====================================================================================

ANYONE, VIEW, EDIT, ADMIN = "anyone", "view", "edit", "admin"
RIGHTS = {
    "anonymous": {ANYONE},
    "no-role": {ANYONE},
    "viewer": {ANYONE, VIEW},
    "editor": {ANYONE, VIEW, EDIT},
    "admin": {ANYONE, VIEW, EDIT, ADMIN},
    "superuser": {ANYONE, VIEW, EDIT, ADMIN},
}
MISSING_ID = 10**9


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # with {model}, {free}, {dependency}, {provider}, {spare_provider}, {industry}, {spare_industry}
    body: dict | None
    right: str
    missing: bool = False  # the object does not exist: 404 for those with the right

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path}"


CALLS = [
    Call("get", "/api/v1/models", None, VIEW),
    Call("get", "/api/v1/models?search=gpt&status=active", None, VIEW),
    Call("get", "/api/v1/models/{model}", None, VIEW),
    Call("get", "/api/v1/models/{missing}", None, VIEW, missing=True),
    Call("get", "/api/v1/models/{model}/dependencies", None, VIEW),
    Call("get", "/api/v1/models/{model}/history", None, VIEW),
    Call("get", "/api/v1/models/options", None, VIEW),
    Call("get", "/api/v1/providers", None, VIEW),
    Call("get", "/api/v1/providers/{provider}", None, VIEW),
    Call("get", "/api/v1/industries", None, VIEW),
    Call("get", "/api/v1/industries/{industry}", None, VIEW),
    Call("post", "/api/v1/models", {"name": "brand-new", "provider": "openai"}, EDIT),
    Call("put", "/api/v1/models/{model}", {"name": "gpt-4o", "provider": "openai", "display_name": "R"}, EDIT),
    Call("patch", "/api/v1/models/{model}", {"display_name": "Changed"}, EDIT),
    Call("patch", "/api/v1/models/{missing}", {"display_name": "Changed"}, EDIT, missing=True),
    Call("post", "/api/v1/models/{model}/dependencies", {"component_type": "agent", "component_id": "new"}, EDIT),
    Call("delete", "/api/v1/models/{model}/dependencies/{dependency}", None, EDIT),
    Call("delete", "/api/v1/models/{free}", None, ADMIN),
    Call("delete", "/api/v1/models/{missing}", None, ADMIN, missing=True),
    Call("post", "/api/v1/models/bulk", {"action": "activate", "ids": ["{free}"]}, ADMIN),
    Call("post", "/api/v1/models/bulk", {"action": "delete", "ids": ["{free}"]}, ADMIN),
    Call("post", "/api/v1/providers", {"slug": "mistral", "name": "Mistral"}, ADMIN),
    Call("put", "/api/v1/providers/{spare_provider}", {"slug": "spare", "name": "Spare"}, ADMIN),
    Call("patch", "/api/v1/providers/{provider}", {"name": "Open AI"}, ADMIN),
    Call("delete", "/api/v1/providers/{spare_provider}", None, ADMIN),
    Call("post", "/api/v1/industries", {"slug": "energy", "name": "Energy"}, ADMIN),
    Call("patch", "/api/v1/industries/{industry}", {"name": "Retail trade"}, ADMIN),
    Call("delete", "/api/v1/industries/{spare_industry}", None, ADMIN),
    Call("get", "/api/v1/audit", None, ADMIN),
    Call("get", "/api/v1/audit?format=csv", None, ADMIN),
    Call("get", "/api/v1/audit/security", None, ADMIN),
    Call("get", "/api/v1/schema", None, ANYONE),
    Call("get", "/api/v1/docs", None, ANYONE),
    Call("get", "/healthz", None, ANYONE),
    Call("get", "/readyz", None, ANYONE),
]


def build_world() -> dict:
    """What the calls act on: a used model, a free one, a dependency, providers and
    industries, in use and spare."""
    openai = ProviderFactory(slug="openai", name="OpenAI")
    model = AIModelFactory(name="gpt-4o", provider=openai)
    free = AIModelFactory(name="free", provider=openai, status="inactive")
    spare_industry = Industry.objects.create(slug="spare-industry", name="Spare")
    return {
        "model": model.pk,
        "free": free.pk,
        "dependency": ModelDependencyFactory(model=model).pk,
        "provider": openai.pk,
        "spare_provider": ProviderFactory(slug="spare", name="Spare").pk,
        "industry": Industry.objects.get(slug="retail").pk,
        "spare_industry": spare_industry.pk,
        "missing": MISSING_ID,
    }


def make_role_user(role: str):
    if role == "anonymous":
        return None
    if role == "superuser":
        return new_user(None, "root", is_superuser=True, is_staff=True)
    return new_user(None if role == "no-role" else role, f"{role}-user")


def perform(client: APIClient, call: Call, world: dict):
    path = call.path.format(**world)
    if call.body is None:
        return getattr(client, call.method)(path)
    body = {key: ([world[v[1:-1]] for v in value] if key == "ids" else value) for key, value in call.body.items()}
    return getattr(client, call.method)(path, body, format="json")


ROLES = [*sorted(RIGHTS), "bad-token"]  # bad-token: credentials that are not a valid token


def role_client(role: str, user) -> APIClient:
    if role == "bad-token":
        client = APIClient(raise_request_exception=False)
        client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token-at-all")
        return client
    return token_client(user)


def expected_refusal(role: str, call: Call) -> tuple[int, str] | None:
    """(status, security event) docs/contract.md §2 gives this call by this role, or None if it may pass."""
    if role == "bad-token":
        # Plain Django views (health checks) ignore the header; DRF ones reject it, even
        # where anyone may call them (the schema, the docs).
        return None if call.path in ("/healthz", "/readyz") else (401, "token_rejected")
    if call.right in RIGHTS[role]:
        return None
    return (401, "permission_denied") if role == "anonymous" else (403, "permission_denied")


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("call", CALLS, ids=str)
def test_each_endpoint_answers_exactly_the_roles_with_the_right(role, call):
    world = build_world()
    user = None if role == "bad-token" else make_role_user(role)
    client = role_client(role, user)
    events_before = SecurityEvent.objects.count()

    response = perform(client, call, world)

    new_events = list(SecurityEvent.objects.order_by("id")[events_before:])
    refusal = expected_refusal(role, call)
    if refusal is None:
        assert response.status_code == 404 if call.missing else 200 <= response.status_code < 400, (
            response.status_code,
            getattr(response, "content", b"")[:300],
        )
        assert new_events == []
    else:
        status, event_type = refusal
        assert response.status_code == status
        assert [event.event for event in new_events] == [event_type]
        event = new_events[0]
        assert (event.method, event.path) == (call.method.upper(), call.path.format(**world))
        assert event.username == (user.username if user is not None else "")
        assert event.ip_address == "127.0.0.1"
        assert event.request_id == response["X-Request-ID"]
        if status == 401:
            assert response["WWW-Authenticate"] == "Bearer"


class TestOnlyAllowedCallsGetThrough(TestCase):
    """Property 13: Authorization Enforcement.

    In any sequence of calls by any roles, exactly the calls docs/contract.md §2
    allows get through; each refused one is a 401 (no or bad credentials) or a 403 and
    is counted exactly once in the security log (identical refusals within a minute share
    one row and its count)."""

    @classmethod
    def setUpTestData(cls):
        cls.users = {role: make_role_user(role) for role in RIGHTS}

    def setUp(self):
        self.clients = {role: role_client(role, self.users.get(role)) for role in ROLES}

    @given(st.lists(st.tuples(st.sampled_from(ROLES), st.sampled_from(CALLS)), min_size=1, max_size=6))
    def test_only_allowed_calls_get_through_and_every_refusal_is_logged(self, program):
        cache.clear()  # no failed-token counts from earlier examples (the throttle is tested on its own)
        world = build_world()
        before = {event.pk: event.count for event in SecurityEvent.objects.all()}
        refusals = []

        for role, call in program:
            response = perform(self.clients[role], call, world)
            refusal = expected_refusal(role, call)
            if refusal is None:
                # Earlier calls may have deleted or taken what this one names: 400/404 are fine.
                assert response.status_code not in (401, 403), (role, str(call), response.status_code)
                assert response.status_code < 500, (role, str(call), response.status_code)
            else:
                assert response.status_code == refusal[0], (role, str(call), response.status_code)
                refusals.append(refusal[1])

        logged = Counter()
        for event in SecurityEvent.objects.all():
            logged[event.event] += event.count - before.get(event.pk, 0)
        assert +logged == Counter(refusals)
