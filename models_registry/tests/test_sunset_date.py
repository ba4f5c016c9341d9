"""A model's sunset date (docs/contract.md §7, "Lifecycle"): a date or null, never before the
deprecation date, taken by every door (API, admin, import files) through the model's one
rule; on and after it (UTC) the model leaves /v1/models and the selection list, without any
write on that day: both lists are cached or tagged by the catalog version, which midnight
does not move, so their keys carry the day too."""

import csv
import datetime
import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import AuditEntry
from models_registry import selectors
from models_registry.models import AIModel
from models_registry.selectors import catalog_version
from models_registry.services import aimodel_update
from models_registry.tests.factories import AIModelFactory, ProviderFactory
from models_registry.tests.streamed import body_json

pytestmark = pytest.mark.django_db

TODAY = datetime.datetime.now(datetime.UTC).date()
DAY = datetime.timedelta(days=1)


@pytest.fixture
def viewer(api_as):
    return api_as("viewer")


@pytest.fixture
def day(monkeypatch):
    """day(date): the clock's UTC date, as the sunset selector reads it, moved to `date`."""

    def move_to(date: datetime.date) -> None:
        monkeypatch.setattr(selectors, "utc_today", lambda: date)

    return move_to


def patch(client, model, body):
    return client.patch(f"/api/v1/models/{model.pk}", json.dumps(body), content_type="application/json")


def listed(client) -> list[str]:
    return [item["id"] for item in body_json(client.get("/v1/models"))["data"]]


def options(client, **headers):
    return client.get("/api/v1/models/options", headers=headers)


# The field and its rule


def test_the_api_sets_shows_and_audits_the_sunset_date(api_as):
    model = AIModelFactory(name="gpt-old", deprecation_date=datetime.date(2030, 1, 31))
    editor = api_as("editor")

    response = patch(editor, model, {"sunset_date": "2030-06-30"})

    assert response.status_code == 200, response.content
    assert response.json()["sunset_date"] == "2030-06-30"
    assert editor.get(f"/api/v1/models/{model.pk}").json()["sunset_date"] == "2030-06-30"
    assert AIModel.objects.get(pk=model.pk).sunset_date == datetime.date(2030, 6, 30)
    entry = AuditEntry.objects.filter(object_type="aimodel", object_id=str(model.pk)).latest("id")
    assert entry.changes == {"sunset_date": {"old": None, "new": "2030-06-30"}}
    assert patch(editor, model, {"sunset_date": None}).json()["sunset_date"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"deprecation_date": "2030-02-01", "sunset_date": "2030-01-31"},
        {"sunset_date": "2030-01-30"},  # before the stored deprecation date
    ],
)
def test_a_sunset_date_before_the_deprecation_date_is_a_400_on_sunset_date(api_as, body):
    model = AIModelFactory(deprecation_date=datetime.date(2030, 1, 31))

    response = patch(api_as("editor"), model, body)

    assert response.status_code == 400
    assert response.json() == {"sunset_date": ["The sunset date cannot be before the deprecation date."]}
    assert AIModel.objects.get(pk=model.pk).sunset_date is None


def test_moving_the_deprecation_date_past_the_sunset_date_is_refused_on_sunset_date():
    model = AIModelFactory(deprecation_date=datetime.date(2030, 1, 1), sunset_date=datetime.date(2030, 3, 1))

    with pytest.raises(ValidationError) as refused:
        aimodel_update(model=model, actor=None, deprecation_date=datetime.date(2030, 4, 1))

    assert refused.value.message_dict == {"sunset_date": ["The sunset date cannot be before the deprecation date."]}


@pytest.mark.parametrize("sunset", ["2030-01-31", "2031-01-01"])
def test_a_sunset_on_or_after_the_deprecation_date_is_taken(api_as, sunset):
    model = AIModelFactory()

    response = patch(api_as("editor"), model, {"deprecation_date": "2030-01-31", "sunset_date": sunset})

    assert response.status_code == 200
    assert response.json()["sunset_date"] == sunset


@pytest.mark.parametrize("value", ["2030-13-01", "soon", "2030-1-1", 20300101, True])
def test_a_sunset_date_that_is_not_a_date_is_a_400(api_as, value):
    model = AIModelFactory()

    response = patch(api_as("editor"), model, {"sunset_date": value})

    assert response.status_code == 400
    assert list(response.json()) == ["sunset_date"]


def test_the_admin_form_refuses_a_sunset_before_the_deprecation_date(make_user, client):
    model = AIModelFactory(name="gpt-old")
    client.force_login(make_user("editor", is_staff=True))
    page = client.get(f"/admin/models_registry/aimodel/{model.pk}/change/")
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "capabilities"}
    data |= {
        "provider": model.provider_id,
        "deprecation_date": "2030-02-01",
        "sunset_date": "2030-01-01",
        "industry_profiles-TOTAL_FORMS": "0",
        "industry_profiles-INITIAL_FORMS": "0",
        "dependencies-TOTAL_FORMS": "0",
        "dependencies-INITIAL_FORMS": "0",
        "metadata": "{}",
        "aliases": "",
    }

    response = client.post(f"/admin/models_registry/aimodel/{model.pk}/change/", data)

    assert response.status_code == 200  # the form again, with the error
    assert response.context["adminform"].form.errors == {
        "sunset_date": ["The sunset date cannot be before the deprecation date."]
    }
    assert AIModel.objects.get(pk=model.pk).deprecation_date is None


def import_file(tmp_path, text: str, *args) -> tuple[str, str]:
    path = tmp_path / "models.csv"
    path.write_text(text, encoding="utf-8")
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("import_models", str(path), *args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def test_an_import_file_carries_the_sunset_date_and_the_export_writes_it(tmp_path):
    ProviderFactory(slug="openai")

    import_file(tmp_path, "name,provider,deprecation_date,sunset_date\ngpt-old,openai,2030-01-31,2030-06-30\n")
    out = io.StringIO()
    call_command("export_models", stdout=out, stderr=io.StringIO())

    assert AIModel.objects.get(name="gpt-old").sunset_date == datetime.date(2030, 6, 30)
    (row,) = csv.DictReader(io.StringIO(out.getvalue()))
    assert (row["deprecation_date"], row["sunset_date"]) == ("2030-01-31", "2030-06-30")


def test_an_import_row_with_a_sunset_before_its_deprecation_is_invalid(tmp_path):
    ProviderFactory(slug="openai")

    with pytest.raises(CommandError) as refused:
        import_file(tmp_path, "name,provider,deprecation_date,sunset_date\ngpt-old,openai,2030-02-01,2030-01-01\n")

    assert refused.value.returncode == 1
    assert not AIModel.objects.exists()


def test_the_litellm_reader_leaves_the_sunset_date_alone(tmp_path):
    """LiteLLM's catalog has no sunset date: a key of that name is kept in metadata."""
    model = AIModelFactory(
        name="gpt-old", provider=ProviderFactory(slug="openai"), sunset_date=datetime.date(2031, 1, 1)
    )
    path = tmp_path / "litellm.json"
    entry = {"litellm_provider": "openai", "mode": "chat", "deprecation_date": "2030-06-30", "sunset_date": "x"}
    path.write_text(json.dumps({"gpt-old": entry}), encoding="utf-8")

    call_command("import_models", str(path), "--format", "litellm", stdout=io.StringIO(), stderr=io.StringIO())

    model.refresh_from_db()
    assert model.sunset_date == datetime.date(2031, 1, 1)
    assert model.deprecation_date == datetime.date(2030, 6, 30)
    assert model.metadata["sunset_date"] == "x"


# Leaving /v1/models and the selection list


@pytest.fixture
def lifecycle():
    """Models whose sunset date has passed, is today, is tomorrow, or is not set."""
    provider = ProviderFactory(slug="openai")
    return {
        "past": AIModelFactory(name="gone-yesterday", provider=provider, sunset_date=TODAY - DAY),
        "today": AIModelFactory(name="gone-today", provider=provider, sunset_date=TODAY, aliases=["gone-alias"]),
        "tomorrow": AIModelFactory(
            name="goes-tomorrow", provider=provider, status="deprecated", sunset_date=TODAY + DAY
        ),
        "none": AIModelFactory(name="stays", provider=provider),
    }


def test_v1_models_lists_only_models_whose_sunset_has_not_come(lifecycle, viewer):
    assert listed(viewer) == ["goes-tomorrow", "stays"]


@pytest.mark.parametrize("name", ["gone-yesterday", "gone-today", "gone-alias", "GONE-TODAY"])
def test_a_sunset_model_is_a_404_on_v1_models_like_an_unknown_one(lifecycle, viewer, name):
    response = viewer.get(f"/v1/models/{name}")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found"
    assert viewer.get(f"/api/v1/models/{lifecycle['today'].pk}").status_code == 200  # still in the registry


def test_the_selection_list_leaves_out_sunset_models(lifecycle, viewer):
    names = [item["name"] for item in options(viewer).json()]

    assert names == ["stays"]  # goes-tomorrow is deprecated: never offered


def test_a_model_leaves_both_lists_on_its_sunset_day_without_any_write(lifecycle, viewer, day):
    aimodel_update(model=lifecycle["tomorrow"], actor=None, status="active")
    before = options(viewer)
    cached = options(viewer, **{"If-None-Match": before["ETag"]})
    version = catalog_version()

    day(TODAY + DAY)
    after = options(viewer, **{"If-None-Match": before["ETag"]})

    assert [item["name"] for item in before.json()] == ["goes-tomorrow", "stays"]
    assert cached.status_code == 304
    assert after.status_code == 200 and after["ETag"] != before["ETag"]
    assert [item["name"] for item in after.json()] == ["stays"]
    assert listed(viewer) == ["stays"]
    assert viewer.get("/v1/models/goes-tomorrow").status_code == 404
    assert catalog_version() == version


def test_the_sunset_header_is_the_sunset_date_when_there_is_one(viewer):
    deprecated = AIModelFactory(
        name="gpt-old",
        status="deprecated",
        deprecation_date=datetime.date(2030, 1, 31),
        sunset_date=datetime.date(2030, 6, 30),
    )
    undated = AIModelFactory(name="gpt-older", status="deprecated", deprecation_date=datetime.date(2030, 1, 31))

    assert viewer.get(f"/v1/models/{deprecated.name}")["Sunset"] == "Sun, 30 Jun 2030 00:00:00 GMT"
    assert viewer.get(f"/v1/models/{undated.name}")["Sunset"] == "Thu, 31 Jan 2030 00:00:00 GMT"
