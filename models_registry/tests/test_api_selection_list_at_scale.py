"""The selection list at a million models (docs/contract.md §7 "Scale"): `search` and `limit`,
the whole list streamed from the database when it is large, the cache kept for what stays
small, and an `ETag` answered without reading the models.

`streaming.CHUNK_ROWS` is lowered so that a few models make a large list: a list shorter
than one chunk is small.
"""

from unittest import mock

import pytest
from django.core.cache import cache
from django.http import QueryDict
from rest_framework.test import APIClient

from accounts.services import api_token_create
from llm_admin.api import streaming
from models_registry import selectors
from models_registry.forms import AIModelChoiceField
from models_registry.models import AIModel
from models_registry.selectors import OptionsQuery
from models_registry.services import aimodel_update
from models_registry.tests.factories import AIModelFactory, ProviderFactory
from models_registry.tests.streamed import body_json

pytestmark = pytest.mark.django_db

OPTIONS = "/api/v1/models/options"


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    monkeypatch.setattr(streaming, "CHUNK_ROWS", 3)


@pytest.fixture
def viewer(make_user):
    _, key = api_token_create(user=make_user("viewer"))
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get("/api/v1/providers").status_code == 200  # the token's first use is recorded once
    return client


@pytest.fixture
def catalog():
    acme = ProviderFactory(slug="acme", name="Acme Clouds")
    beta = ProviderFactory(slug="beta", name="Beta Labs")
    return [
        AIModelFactory(name="acme/chat", display_name="Acme Chat", provider=acme, capabilities=["vision"]),
        AIModelFactory(name="acme/embed", provider=acme, model_type="embedding", description="Résumé search"),
        AIModelFactory(name="beta-chat", provider=beta, aliases=["beta-latest"]),
        AIModelFactory(name="beta-mini", provider=beta, status="deprecated"),
        AIModelFactory(name="beta-old", provider=beta, status="inactive", description="résumé"),
        AIModelFactory(name="beta-vision", provider=beta, capabilities=["vision", "reasoning"]),
    ]


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [option["name"] for option in body_json(response)]


def listed_active(client, **params) -> list[str]:
    """What the model list selects for the same parameters: its active models, by provider then name."""
    rows = client.get("/api/v1/models", {**params, "status": "active", "page_size": 500}).json()["results"]
    return [row["name"] for row in sorted(rows, key=lambda row: (row["provider"], row["name"]))]


# --- search and limit ---------------------------------------------------------------------


@pytest.mark.parametrize("text", ["chat", "CHAT", "resume", "RÉSUMÉ", "beta labs", "vision", "latest", "nothing", ""])
def test_search_means_what_it_means_on_the_list(viewer, catalog, text):
    assert names(viewer.get(OPTIONS, {"search": text})) == listed_active(viewer, search=text)


def test_search_combines_with_the_filters(viewer, catalog):
    assert names(viewer.get(OPTIONS, {"search": "beta", "capability": "vision"})) == ["beta-vision"]
    assert names(viewer.get(OPTIONS, {"search": "acme", "model_type": "embedding"})) == ["acme/embed"]


@pytest.mark.parametrize("limit", ["1", "2", "4", "5", "1000", "0002"])
def test_limit_gives_the_first_of_the_list_in_its_order(viewer, catalog, limit):
    everything = ["acme/chat", "acme/embed", "beta-chat", "beta-vision"]

    response = viewer.get(OPTIONS, {"limit": limit})

    assert not response.streaming
    assert names(response) == everything[: int(limit)]


def test_limit_applies_after_the_filters_and_search(viewer, catalog):
    assert names(viewer.get(OPTIONS, {"limit": 1, "search": "beta"})) == ["beta-chat"]
    assert names(viewer.get(OPTIONS, {"limit": 1, "capability": "vision", "search": "beta"})) == ["beta-vision"]


@pytest.mark.parametrize("limit", ["", "0", "-1", "1001", "abc", "1.5", "1e3", "²", " 1", "9" * 5000])
def test_a_limit_that_is_not_1_to_1000_is_a_400_naming_it(viewer, catalog, limit):
    response = viewer.get(OPTIONS, {"limit": limit})

    assert response.status_code == 400
    assert response.json() == {"limit": ["Enter a whole number from 1 to 1000."]}


def test_a_bad_filter_beside_a_limit_names_the_filter(viewer, catalog):
    response = viewer.get(OPTIONS, {"limit": 5, "model_type": "telepathy"})

    assert response.status_code == 400
    assert list(response.json()) == ["model_type"]


# --- streamed when large, cached when small ---------------------------------------------


def test_a_large_list_is_streamed_whole_with_its_etag(viewer, catalog):
    response = viewer.get(OPTIONS)

    assert response.streaming
    assert response["Content-Type"] == "application/json"
    assert response["ETag"]
    assert body_json(response) == [
        {"id": model.pk, "name": model.name, "display_name": model.display_name, "provider": model.provider.slug,
         "model_type": model.model_type}
        for model in sorted(AIModel.objects.filter(status="active"), key=lambda m: (m.provider.slug, m.name))
    ]  # fmt: skip


@pytest.mark.parametrize("count", [0, 1, 2, 3, 4, 6, 7])
def test_every_length_of_list_is_one_json_array(viewer, count):
    provider = ProviderFactory(slug="acme")
    AIModel.objects.bulk_create(AIModel(name=f"m-{n}", provider=provider) for n in range(count))

    response = viewer.get(OPTIONS)

    assert response.streaming == (count >= streaming.CHUNK_ROWS)
    assert names(response) == [f"m-{n}" for n in range(count)]


def test_only_small_lists_are_cached(viewer, catalog):
    with mock.patch.object(selectors.cache, "set", wraps=cache.set) as cached:
        large = viewer.get(OPTIONS)
        small = viewer.get(OPTIONS, {"search": "acme"})
        limited = viewer.get(OPTIONS, {"limit": 3})
        body_json(large)

    assert large.streaming and not small.streaming and not limited.streaming
    assert [len(call.args[1]) for call in cached.call_args_list] == [2, 3]


def test_a_cached_small_list_is_served_without_reading_the_models(viewer, catalog, django_assert_num_queries):
    viewer.get(OPTIONS, {"limit": 3})

    with django_assert_num_queries(4):  # token + permissions (2) + the catalog version
        again = viewer.get(OPTIONS, {"limit": 3})

    assert names(again) == ["acme/chat", "acme/embed", "beta-chat"]


def test_a_large_list_answers_304_to_its_etag_without_reading_the_models(viewer, catalog, django_assert_num_queries):
    first = viewer.get(OPTIONS, {"search": "a"})
    tag = first["ETag"]
    assert first.streaming and len(body_json(first)) == 4

    with django_assert_num_queries(4):  # token + permissions (2) + the catalog version
        unchanged = viewer.get(OPTIONS, {"search": "a"}, headers={"If-None-Match": tag})

    assert unchanged.status_code == 304
    assert unchanged["ETag"] == tag
    assert names(viewer.get(OPTIONS, {"search": "b"}, headers={"If-None-Match": tag}))  # another query
    assert names(viewer.get(OPTIONS, {"search": "a", "limit": 9}, headers={"If-None-Match": tag}))


def test_a_change_shows_in_the_streamed_list_at_once_with_a_new_etag(viewer, catalog):
    before = viewer.get(OPTIONS)
    tag = before["ETag"]
    body_json(before)

    aimodel_update(model=catalog[0], actor=None, name="acme/chat-2")
    after = viewer.get(OPTIONS, headers={"If-None-Match": tag})

    assert after.status_code == 200
    assert after["ETag"] != tag
    assert names(after)[0] == "acme/chat-2"


def test_with_the_cache_down_every_list_comes_from_the_database(viewer, catalog):
    broken = ConnectionError("cache down")
    with (
        mock.patch.object(selectors.cache, "get", side_effect=broken),
        mock.patch.object(selectors.cache, "set", side_effect=broken),
    ):
        large, small = viewer.get(OPTIONS), viewer.get(OPTIONS, {"limit": 2})
        listed = names(large)

    assert listed == ["acme/chat", "acme/embed", "beta-chat", "beta-vision"]
    assert names(small) == listed[:2]


def test_queries_that_differ_have_different_keys():
    def key(query: str) -> str:
        return OptionsQuery.of(QueryDict(query)).key()

    assert key("search=a%26search%3Db") != key("search=a&search=b")
    assert key("search=a%26model_type%3Dchat") != key("search=a&model_type=chat")
    assert OptionsQuery.of(QueryDict(""), limit=5).key() != OptionsQuery.of(QueryDict("")).key()
    assert key("capability=vision&capability=reasoning") == key("capability=reasoning&capability=vision")


def test_a_form_picker_offers_a_large_list_whole(catalog):
    field = AIModelChoiceField()

    offered = [label for _, group in field.choices[1:] for _, label in group]

    assert offered == ["Acme Chat", "Acme/Embed", "Beta Chat", "Beta Vision"]


def test_the_selection_list_answers_who_may_read_only(make_user, catalog):
    _, key = api_token_create(user=make_user(None))
    nobody = APIClient()
    nobody.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    assert APIClient().get(OPTIONS, {"limit": 2}).status_code == 401
    assert nobody.get(OPTIONS).status_code == 403
