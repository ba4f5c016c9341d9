"""`as_of` (docs/contract.md §7, "Lifecycle"): GET /api/v1/models, a model's detail and
/v1/models as the registry was at an instant, with the same filters, ordering and paging; a
bad instant is a 400 naming `as_of`."""

import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone

from models_registry.models import AIModel, Provider
from models_registry.services import (
    aimodel_delete,
    aimodel_update,
    dependency_register,
    reference_save,
)
from models_registry.tests.factories import AIModelFactory, ProviderFactory, profile
from models_registry.tests.streamed import body_json

pytestmark = pytest.mark.django_db

START = datetime.datetime(2026, 3, 1, 9, 0, tzinfo=datetime.UTC)
SECOND = datetime.timedelta(seconds=1)


@pytest.fixture
def clock(monkeypatch):
    """clock(t): every change from now on is made at `t` (the audit writer and auto_now read
    django.utils.timezone.now); `clock.now` is the time it shows."""

    class Clock:
        now = START

        def __call__(self, moment: datetime.datetime) -> None:
            self.now = moment

    fake = Clock()
    monkeypatch.setattr(timezone, "now", lambda: fake.now)
    return fake


@pytest.fixture
def viewer(api_as):
    return api_as("viewer")


def at(moment: datetime.datetime) -> str:
    return moment.isoformat()


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [model["name"] for model in response.json()["results"]]


def test_the_list_as_of_an_instant_shows_the_prices_and_models_of_then(viewer, clock):
    clock(START)
    model = AIModelFactory(name="gpt-x", input_cost_per_million_tokens="2.5")
    clock(START + 10 * SECOND)
    aimodel_update(model=model, actor=None, input_cost_per_million_tokens="3")
    clock(START + 20 * SECOND)
    AIModelFactory(name="gpt-y")
    clock(START + 30 * SECOND)
    aimodel_delete(model=AIModel.objects.get(name="gpt-x"), actor=None)
    clock(START + 40 * SECOND)

    before = viewer.get("/api/v1/models", {"as_of": at(START - SECOND)})
    first = viewer.get("/api/v1/models", {"as_of": at(START + 9 * SECOND)})
    second = viewer.get("/api/v1/models", {"as_of": at(START + 10 * SECOND)})
    both = viewer.get("/api/v1/models", {"as_of": at(START + 25 * SECOND)})
    after = viewer.get("/api/v1/models", {"as_of": at(START + 30 * SECOND)})

    assert names(before) == []
    assert [(m["name"], m["input_cost_per_million_tokens"]) for m in first.json()["results"]] == [("gpt-x", "2.5")]
    assert second.json()["results"][0]["input_cost_per_million_tokens"] == "3"
    assert names(both) == ["gpt-x", "gpt-y"]
    assert names(after) == ["gpt-y"]


def test_filters_and_ordering_apply_to_the_registry_as_it_was(viewer, clock):
    clock(START)
    openai = ProviderFactory(slug="openai")
    small = AIModelFactory(name="small", provider=openai, context_window=8_000, capabilities=["vision"])
    AIModelFactory(name="large", context_window=200_000, aliases=["big-one"])
    clock(START + 10 * SECOND)
    aimodel_update(model=small, actor=None, context_window=500_000, capabilities=[])
    clock(START + 20 * SECOND)
    then = at(START + 5 * SECOND)

    by_window = viewer.get("/api/v1/models", {"as_of": then, "ordering": "-context_window"})
    wide = viewer.get("/api/v1/models", {"as_of": then, "min_context_window": "100000"})
    seeing = viewer.get("/api/v1/models", {"as_of": then, "capability": "vision"})
    of_openai = viewer.get("/api/v1/models", {"as_of": then, "provider": "openai"})
    by_alias = viewer.get("/api/v1/models", {"as_of": then, "name": "BIG-ONE"})
    searched = viewer.get("/api/v1/models", {"as_of": then, "search": "SMA"})

    assert names(by_window) == ["large", "small"]
    assert names(wide) == ["large"]
    assert names(seeing) == ["small"]
    assert names(of_openai) == ["small"]
    assert names(by_alias) == ["large"]
    assert names(searched) == ["small"]
    assert names(viewer.get("/api/v1/models", {"ordering": "-context_window"})) == ["small", "large"]


def test_profiles_provider_slug_successor_and_dependencies_are_as_of_then(viewer, clock):
    clock(START)
    provider = ProviderFactory(slug="acme")
    successor = AIModelFactory(name="next-one")
    model = AIModelFactory(name="old-one", provider=provider, industries=[profile("healthcare")])
    clock(START + 10 * SECOND)
    provider.slug = "acme-corp"
    reference_save(instance=provider, actor=None)
    aimodel_update(model=model, actor=None, successor=successor, industries=[])
    aimodel_update(model=successor, actor=None, name="next-two")
    dependency_register(model=model, component_type="agent", component_id="a1", actor=None)
    clock(START + 20 * SECOND)

    then = viewer.get(f"/api/v1/models/{model.pk}", {"as_of": at(START + 5 * SECOND)})
    now = viewer.get(f"/api/v1/models/{model.pk}", {"as_of": at(START + 15 * SECOND)})
    by_industry = viewer.get("/api/v1/models", {"as_of": at(START + 5 * SECOND), "industry": "healthcare"})

    assert then.status_code == 200
    old = then.json()
    assert (old["provider"], old["successor"], old["dependency_count"]) == ("acme", None, 0)
    assert [p["industry"] for p in old["industries"]] == ["healthcare"]
    new = now.json()
    assert (new["provider"], new["successor"], new["dependency_count"], new["industries"]) == (
        "acme-corp",
        "next-two",
        1,
        [],
    )
    assert names(by_industry) == ["old-one"]
    assert "ETag" not in then


def test_a_model_before_it_existed_or_after_its_deletion_is_a_404(viewer, clock):
    clock(START)
    model = AIModelFactory()
    clock(START + 10 * SECOND)
    aimodel_delete(model=model, actor=None)
    clock(START + 20 * SECOND)

    assert viewer.get(f"/api/v1/models/{model.pk}", {"as_of": at(START - SECOND)}).status_code == 404
    assert viewer.get(f"/api/v1/models/{model.pk}", {"as_of": at(START)}).status_code == 200
    assert viewer.get(f"/api/v1/models/{model.pk}", {"as_of": at(START + 10 * SECOND)}).status_code == 404
    assert viewer.get(f"/api/v1/models/{10**30}", {"as_of": at(START)}).status_code == 404


def test_an_etag_is_not_an_answer_as_of_an_instant(viewer, clock):
    clock(START)
    model = AIModelFactory()
    clock(START + 10 * SECOND)
    aimodel_update(model=model, actor=None, description="changed")
    current = viewer.get(f"/api/v1/models/{model.pk}")

    old = viewer.get(f"/api/v1/models/{model.pk}", {"as_of": at(START)}, HTTP_IF_NONE_MATCH=current["ETag"])

    assert old.status_code == 200
    assert old.json()["description"] == ""


def test_cursor_pages_walk_the_registry_as_it_was(viewer, clock):
    clock(START)
    for n in range(5):
        AIModelFactory(name=f"m-{n}")
    clock(START + 10 * SECOND)
    AIModelFactory(name="m-late")
    aimodel_delete(model=AIModel.objects.get(name="m-0"), actor=None)
    clock(START + 20 * SECOND)

    seen, url, query = [], "/api/v1/models", {"as_of": at(START + 5 * SECOND), "cursor": "", "page_size": "2"}
    while url:
        response = viewer.get(url, query)
        seen += names(response)
        url, query = response.json()["next"], None

    assert seen == ["m-0", "m-1", "m-2", "m-3", "m-4"]


def test_v1_models_as_of_an_instant(api_as, clock):
    clock(START)
    AIModelFactory(name="kept", provider=ProviderFactory(slug="acme"))
    gone = AIModelFactory(name="gone")
    clock(START + 10 * SECOND)
    aimodel_delete(model=gone, actor=None)
    client = api_as("viewer")

    then = client.get("/v1/models", {"as_of": at(START + 5 * SECOND)})
    bad = client.get("/v1/models", {"as_of": "yesterday"})

    assert [(m["id"], m["owned_by"]) for m in body_json(then)["data"]] == [
        ("gone", gone.provider.slug),
        ("kept", "acme"),
    ]
    assert bad.status_code == 400
    assert "as_of" in bad.json()["error"]["message"]


@pytest.mark.parametrize(
    "value",
    ["", "yesterday", "2026-13-01T00:00:00Z", "9999-12-31T23:59:59+00:00", "2026-03-01T00:00:00+99:00"],
)
def test_a_bad_instant_is_a_400_naming_as_of(viewer, value):
    listed = viewer.get("/api/v1/models", {"as_of": value})
    one = viewer.get("/api/v1/models/1", {"as_of": value})

    assert listed.status_code == 400
    assert "as_of" in listed.json()
    assert one.status_code == 400
    assert "as_of" in one.json()


def test_a_naive_instant_is_read_as_utc(viewer, clock):
    clock(START)
    AIModelFactory(name="made")
    clock(START + 10 * SECOND)

    naive = viewer.get("/api/v1/models", {"as_of": "2026-03-01T09:00:00"})
    earlier = viewer.get("/api/v1/models", {"as_of": "2026-03-01T08:59:59"})

    assert names(naive) == ["made"]
    assert names(earlier) == []


def test_an_instant_before_what_retention_kept_is_a_400(viewer, clock):
    clock(START)
    model = AIModelFactory()
    clock(START + 10 * SECOND)
    aimodel_update(model=model, actor=None, description="later")
    clock(START + 20 * SECOND)
    call_command("prune_history", "--before", at(START + 15 * SECOND))

    refused = viewer.get("/api/v1/models", {"as_of": at(START + 5 * SECOND)})
    kept = viewer.get("/api/v1/models", {"as_of": at(START + 15 * SECOND)})

    assert refused.status_code == 400
    assert "pruned" in refused.json()["as_of"][0]
    assert names(kept) == [model.name]


def test_anonymous_and_roleless_callers_cannot_read_the_past(api_as, client):
    assert client.get("/api/v1/models", {"as_of": at(START)}).status_code in (401, 403)
    assert api_as(None).get("/api/v1/models", {"as_of": at(START)}).status_code == 403


def test_a_provider_unknown_then_selects_nothing(viewer, clock):
    clock(START)
    AIModelFactory(name="a", provider=ProviderFactory(slug="acme"))
    clock(START + 10 * SECOND)
    provider = Provider.objects.get(slug="acme")
    provider.slug = "acme-corp"
    reference_save(instance=provider, actor=None)
    clock(START + 20 * SECOND)

    assert names(viewer.get("/api/v1/models", {"as_of": at(START), "provider": "acme-corp"})) == []
    assert names(viewer.get("/api/v1/models", {"as_of": at(START), "provider": "acme"})) == ["a"]


def test_the_list_as_of_an_instant_is_paged_by_cursor_only(viewer, clock):
    clock(START)
    for n in range(3):
        AIModelFactory(name=f"m-{n}")
    clock(START + 10 * SECOND)

    first = viewer.get("/api/v1/models", {"as_of": at(START), "page_size": "2"})
    numbered = viewer.get("/api/v1/models", {"as_of": at(START), "page": "2"})

    assert set(first.json()) == {"next", "previous", "results"}
    assert names(viewer.get(first.json()["next"])) == ["m-2"]
    assert numbered.status_code == 400
    assert "as_of" in numbered.json()["page"][0]
