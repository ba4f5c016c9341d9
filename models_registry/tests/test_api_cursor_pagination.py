"""Cursor (keyset) pagination of `GET /api/v1/models?cursor=` (docs/contract.md §7 "Scale").

Walking every page by cursor lists each model once, in the order page numbers list them, for
every ordering the list accepts (ties and NULLs included); going back by `previous` retraces
it; models added or removed meanwhile neither repeat nor hide the others. A cursor the list
did not give is a 400 naming `cursor`.
"""

import base64
import datetime
import json
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from hypothesis import given, note
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase
from rest_framework.test import APIClient

from accounts.roles import ROLE_GROUPS
from accounts.services import api_token_create
from audit.models import SecurityEvent
from models_registry.models import AIModel, Provider
from models_registry.services import aimodel_delete
from models_registry.tests.factories import AIModelFactory, ProviderFactory

MODELS = "/api/v1/models"
ORDERING_FIELDS = [
    "name", "provider", "model_type", "status", "context_window", "input_cost_per_million_tokens",
    "output_cost_per_million_tokens", "created_at", "updated_at",
]  # fmt: skip
BASE_TIME = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.UTC)
COSTS = [None, Decimal("0"), Decimal("0.0000000001"), Decimal("2.5"), Decimal("999999.9999999999")]


def viewer_client() -> APIClient:
    user = get_user_model().objects.create_user(username=f"viewer-{get_user_model().objects.count()}")
    user.groups.add(Group.objects.get(name=ROLE_GROUPS["viewer"]))
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=user)[1]}")
    return client


def walk(client, params: dict) -> tuple[list[int], list[dict]]:
    """Every page from `cursor=` on by `next`: (the ids in order, the pages)."""
    pages = [get_ok(client, MODELS, {**params, "cursor": ""})]
    while pages[-1]["next"]:
        pages.append(get_ok(client, pages[-1]["next"]))
    return [row["id"] for page in pages for row in page["results"]], pages


def walk_back(client, pages: list[dict]) -> list[int]:
    """From the last page, every page before it by `previous`: the ids in list order."""
    ids, link = [row["id"] for row in pages[-1]["results"]], pages[-1]["previous"]
    while link:
        page = get_ok(client, link)
        ids = [row["id"] for row in page["results"]] + ids
        link = page["previous"]
    return ids


def by_page_number(client, params: dict) -> list[int]:
    ids, page = [], 1
    while True:
        body = get_ok(client, MODELS, {**params, "page": page})
        ids += [row["id"] for row in body["results"]]
        if not body["next"]:
            return ids
        page += 1


def get_ok(client, url, params=None) -> dict:
    response = client.get(url, params)
    assert response.status_code == 200, response.content
    return response.json()


# --- every ordering, every catalog -----------------------------------------------------

model_specs = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["a", "b", "B-2", "c:1", "z/9"]),
        "provider": st.sampled_from(["acme", "zeta", "bedrock_converse"]),
        "model_type": st.sampled_from(["chat", "embedding", "rerank"]),
        "status": st.sampled_from(["active", "inactive", "deprecated"]),
        "context_window": st.sampled_from([None, 4096, 128_000]),
        "input_cost": st.sampled_from(COSTS),
        "output_cost": st.sampled_from(COSTS),
        "created": st.integers(0, 2),  # hours after BASE_TIME: ties on purpose
        "updated": st.integers(0, 2),
    }
)
orderings = st.lists(
    st.tuples(st.sampled_from(ORDERING_FIELDS), st.booleans()), min_size=1, max_size=2, unique_by=lambda t: t[0]
).map(lambda terms: ",".join(("-" if descending else "") + field for field, descending in terms))


def build_catalog(specs: list[dict]) -> list[AIModel]:
    """The models, written directly (the list only reads them), their times set as given."""
    providers = {
        slug: Provider.objects.get_or_create(slug=slug, defaults={"name": slug})[0]
        for slug in ["acme", "zeta", "bedrock_converse"]
    }
    models = AIModel.objects.bulk_create(
        AIModel(
            name=f"{spec['name']}-{index}",
            provider=providers[spec["provider"]],
            model_type=spec["model_type"],
            status=spec["status"],
            context_window=spec["context_window"],
            input_cost_per_million_tokens=spec["input_cost"],
            output_cost_per_million_tokens=spec["output_cost"],
        )
        for index, spec in enumerate(specs)
    )
    for model, spec in zip(models, specs, strict=True):
        model.created_at = BASE_TIME + datetime.timedelta(hours=spec["created"])
        model.updated_at = BASE_TIME + datetime.timedelta(hours=spec["updated"])
    AIModel.objects.bulk_update(models, ["created_at", "updated_at"])
    return models


class TestCursorWalk(TestCase):
    """Walking by cursor lists what page numbers list, in the same order, exactly once."""

    def setUp(self):
        self.api = viewer_client()

    @given(st.lists(model_specs, max_size=10), orderings, st.integers(1, 4))
    def test_a_cursor_walk_lists_each_model_once_in_page_number_order_both_ways(self, specs, ordering, size):
        models = build_catalog(specs)
        note(f"ordering={ordering} page_size={size}")
        params = {"ordering": ordering, "page_size": size}

        walked, pages = walk(self.api, params)

        assert walked == by_page_number(self.api, params)
        assert sorted(walked) == sorted(model.pk for model in models)
        assert all("count" not in page and len(page["results"]) <= size for page in pages)
        assert pages[0]["previous"] is None
        assert walk_back(self.api, pages) == walked


# --- the catalog changing while a client walks it --------------------------------------


@pytest.fixture
def viewer(db):
    return viewer_client()


@pytest.fixture
def twelve(db):
    acme, zeta = ProviderFactory(slug="acme"), ProviderFactory(slug="zeta")
    return [
        AIModelFactory(
            name=f"m-{number:02d}",
            provider=acme if number % 3 else zeta,
            context_window=None if number % 4 == 0 else 1000 * (number % 5 + 1),
            input_cost_per_million_tokens=None if number % 5 == 0 else Decimal(number % 3),
        )
        for number in range(0, 24, 2)
    ]


@pytest.mark.parametrize(
    "ordering", ["name", "-name", "-created_at", "provider,-input_cost_per_million_tokens", "context_window"]
)
def test_models_added_while_walking_repeat_nothing_and_hide_nothing(viewer, twelve, ordering):
    acme = Provider.objects.get(slug="acme")
    params = {"ordering": ordering, "page_size": 3}
    page = get_ok(viewer, MODELS, {**params, "cursor": ""})
    walked, added = [row["id"] for row in page["results"]], 0
    while page["next"]:
        # One model that sorts before the position, one after it (by name; the rest varies).
        for name in (f"a-{added:02d}", f"m-{2 * added + 1:02d}"):
            AIModelFactory(name=name, provider=acme, context_window=None if added % 2 else 500)
        added += 1
        page = get_ok(viewer, page["next"])
        walked += [row["id"] for row in page["results"]]

    everything_now = by_page_number(viewer, {"ordering": ordering, "page_size": 500})
    assert len(walked) == len(set(walked))
    assert {model.pk for model in twelve} <= set(walked)
    assert walked == [pk for pk in everything_now if pk in set(walked)]  # in the list's order


def test_models_removed_while_walking_leave_the_rest_in_order(viewer, twelve):
    page = get_ok(viewer, MODELS, {"cursor": "", "page_size": 4})
    walked, removed = [row["id"] for row in page["results"]], []
    while page["next"]:
        last = AIModel.objects.get(pk=page["results"][-1]["id"])  # the row the cursor names
        removed.append(last.pk)
        aimodel_delete(model=last, actor=None)
        page = get_ok(viewer, page["next"])
        walked += [row["id"] for row in page["results"]]

    assert walked == [model.pk for model in twelve]  # by name, as made; none twice, none skipped


def test_a_page_emptied_meanwhile_leads_back_to_where_it_was(viewer, twelve):
    first = get_ok(viewer, MODELS, {"cursor": "", "page_size": 10})
    for model in twelve[10:]:
        aimodel_delete(model=model, actor=None)

    emptied = get_ok(viewer, first["next"])
    back = get_ok(viewer, emptied["previous"])

    assert emptied["results"] == [] and emptied["next"] is None
    assert [row["id"] for row in back["results"]] == [model.pk for model in twelve[:10]]


# --- the shape of a cursor page ----------------------------------------------------------


def test_cursor_pages_have_links_that_keep_the_filters_and_no_count(viewer, twelve):
    params = {"cursor": "", "page_size": 2, "provider": "acme", "ordering": "-name", "search": "m-"}

    first = get_ok(viewer, MODELS, params)
    second = get_ok(viewer, first["next"])

    expected = by_page_number(viewer, {key: value for key, value in params.items() if key != "cursor"})
    assert set(first) == {"next", "previous", "results"}
    assert first["previous"] is None
    assert [row["id"] for row in first["results"] + second["results"]] == expected[:4]
    assert first["next"].startswith("http://testserver/api/v1/models?")
    for name, value in [("provider", "acme"), ("ordering", "-name"), ("search", "m-"), ("page_size", "2")]:
        assert f"{name}={value}" in first["next"]
    assert first["results"][0] == viewer.get(f"{MODELS}/{first['results'][0]['id']}").json()  # the same rows


def test_the_first_cursor_page_is_page_one(viewer, twelve):
    by_cursor = get_ok(viewer, MODELS, {"cursor": "", "ordering": "context_window"})
    by_number = get_ok(viewer, MODELS, {"ordering": "context_window"})

    assert by_cursor["results"] == by_number["results"]
    assert by_cursor["next"] is None and by_number["count"] == 12


def test_page_size_works_as_for_page_numbers(viewer, twelve):
    assert len(get_ok(viewer, MODELS, {"cursor": "", "page_size": "9" * 5000})["results"]) == 12
    for bad in ["", "0", "x"]:
        response = viewer.get(MODELS, {"cursor": "", "page_size": bad})
        assert response.status_code == 400
        assert list(response.json()) == ["page_size"]


def test_a_page_number_with_a_cursor_is_a_400_naming_it(viewer, twelve):
    response = viewer.get(MODELS, {"cursor": "", "page": 2})

    assert response.status_code == 400
    assert list(response.json()) == ["page"]


@pytest.mark.parametrize("count", [10, 200])
def test_a_cursor_page_makes_the_same_queries_for_10_and_200_models(viewer, django_assert_num_queries, count):
    provider = ProviderFactory(slug="acme")
    AIModel.objects.bulk_create(AIModel(name=f"m-{n:04d}", provider=provider) for n in range(count))
    viewer.get(MODELS)  # the token's first use is recorded once
    middle = get_ok(viewer, MODELS, {"cursor": "", "page_size": count // 2})["next"]

    with django_assert_num_queries(5):  # token + permissions (2) + the page's positions + its rows
        page = get_ok(viewer, middle)

    assert len(page["results"]) == count // 2


def test_cursor_pages_answer_who_may_read_only(make_user, twelve):
    anonymous = APIClient().get(MODELS, {"cursor": ""})
    _, key = api_token_create(user=make_user(None))
    nobody = APIClient()
    nobody.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    denials = SecurityEvent.objects.filter(event="permission_denied").count()

    forbidden = nobody.get(MODELS, {"cursor": ""})

    assert anonymous.status_code == 401
    assert forbidden.status_code == 403
    assert SecurityEvent.objects.filter(event="permission_denied").count() == denials + 1


# --- cursors the list did not give -------------------------------------------------------


def forged(document) -> str:
    text = document if isinstance(document, bytes) else json.dumps(document).encode()
    return base64.urlsafe_b64encode(text).decode().rstrip("=")


def by_name(*values) -> str:
    return forged({"k": ["name", "pk"], "v": list(values), "b": False, "i": False})


def by_cost(value) -> str:
    return forged({"k": ["input_cost_per_million_tokens", "pk"], "v": [value, 1], "b": False, "i": False})


def by_creation(value) -> str:
    return forged({"k": ["created_at", "pk"], "v": [value, 1], "b": False, "i": False})


BAD_CURSORS = {
    "not base64": ("not a cursor!", {}),
    "one character": ("A", {}),
    "not ASCII": ("é", {}),
    "not JSON": (forged(b"\xff{"), {}),
    "a list": (forged([["name", "pk"], ["a", 1]]), {}),
    "missing keys": (forged({"k": ["name", "pk"], "v": ["a", 1]}), {}),
    "extra keys": (forged({"k": ["name", "pk"], "v": ["a", 1], "b": False, "i": False, "x": 1}), {}),
    "direction not a boolean": (forged({"k": ["name", "pk"], "v": ["a", 1], "b": 0, "i": False}), {}),
    "another ordering": (by_name("a", 1), {"ordering": "-name"}),
    "too few values": (by_name("a"), {}),
    "too many values": (by_name("a", 1, 2), {}),
    "a number for a name": (by_name(5, 1), {}),
    "null for a name": (by_name(None, 1), {}),
    "a NUL in a name": (by_name("a\x00b", 1), {}),
    "a lone surrogate": (forged(b'{"k": ["name", "pk"], "v": ["\\ud800", 1], "b": false, "i": false}'), {}),
    "a name too long": (by_name("a" * 201, 1), {}),
    "an id as text": (by_name("a", "1"), {}),
    "an id as a boolean": (by_name("a", True), {}),
    "an id with a fraction": (by_name("a", 1.5), {}),
    "an id past 64 bits": (by_name("a", 2**64), {}),
    "a price that is not a number": (by_cost("cheap"), {"ordering": "input_cost_per_million_tokens"}),
    "a price as a JSON number": (by_cost(2.5), {"ordering": "input_cost_per_million_tokens"}),
    "a price too large": (by_cost("1e400"), {"ordering": "input_cost_per_million_tokens"}),
    "a price too fine": (by_cost("0.00000000001"), {"ordering": "input_cost_per_million_tokens"}),
    "a price not finite": (by_cost("NaN"), {"ordering": "input_cost_per_million_tokens"}),
    "a time that is not one": (by_creation("yesterday"), {"ordering": "created_at"}),
    "a time without a zone": (by_creation("2026-01-01T00:00:00"), {"ordering": "created_at"}),
    "a month 13": (by_creation("2026-13-01T00:00:00Z"), {"ordering": "created_at"}),
}


@pytest.mark.parametrize(("cursor", "params"), BAD_CURSORS.values(), ids=BAD_CURSORS.keys())
def test_a_cursor_the_list_did_not_give_is_a_400_naming_it(viewer, twelve, cursor, params):
    response = viewer.get(MODELS, {**params, "cursor": cursor})

    assert response.status_code == 400, response.content
    assert list(response.json()) == ["cursor"]


def test_a_cursor_made_for_an_ordering_keeps_to_it(viewer, twelve):
    cursor_link = get_ok(viewer, MODELS, {"cursor": "", "page_size": 2, "ordering": "-created_at"})["next"]
    cursor = cursor_link.split("cursor=")[1].split("&")[0]

    reordered = viewer.get(MODELS, {"cursor": cursor, "ordering": "created_at"})

    assert reordered.status_code == 400
    assert "another ordering" in reordered.json()["cursor"][0]
