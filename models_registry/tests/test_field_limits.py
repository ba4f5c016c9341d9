"""Every text and JSON field of the registry has a limit (models_registry/limits.py,
docs/api.md "Limits"), enforced by the one validation path, so every door refuses a value
one over it with a field error naming the field and the limit, stores nothing, and takes
a value at it (issue 10, item 6). A page of 500 models filled to every limit stays under
the bound docs/api.md states."""

import csv
import io
import json
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import AuditEntry
from models_registry import limits
from models_registry.choices import Capability
from models_registry.importing import import_models, read_source
from models_registry.models import AIModel, Industry, ModelDependency, ModelIndustryProfile, Provider
from models_registry.services import aimodel_create
from models_registry.tests.admin_pages import FORM_ID, form_fields, page_of, signed_in, staff
from models_registry.tests.factories import AIModelFactory, ProviderFactory

pytestmark = pytest.mark.django_db

MODELS = "/api/v1/models"
ANY_SETTINGS = "any-settings"  # an industry whose schema takes any settings object


def sized_object(size: int) -> dict:
    """A JSON object whose stored text is exactly `size` bytes ({"k": "xx...x"})."""
    value = {"k": "x" * (size - len('{"k": ""}'))}
    assert limits.json_size(value) == size
    return value


def aliases(count: int) -> list[str]:
    return [f"alias-{number}" for number in range(count)]


@pytest.fixture(autouse=True)
def reference_data():
    ProviderFactory(slug="openai")
    Industry.objects.create(slug=ANY_SETTINGS, name="Any settings", settings_schema={"type": "object"})
    for number in range(limits.PROFILES_MAX_COUNT + 1 - Industry.objects.count()):
        Industry.objects.create(slug=f"extra-{number}", name=f"Extra {number}")


def profiles_of(count: int, settings: dict | None = None) -> list[dict]:
    slugs = [ANY_SETTINGS, *Industry.objects.exclude(slug=ANY_SETTINGS).order_by("slug").values_list("slug", flat=True)]
    return [{"industry": slug, "enabled": True, "settings": settings or {}} for slug in slugs[:count]]


METADATA_MESSAGE = "Ensure this value takes at most {} bytes as JSON (it takes {}).".format(  # noqa: UP032
    limits.METADATA_MAX_BYTES, limits.METADATA_MAX_BYTES + 1
)
# field: (a value at the limit, one over it, the error); each value as a JSON body carries it.
MODEL_LIMITS = {
    "description": (
        "d" * limits.DESCRIPTION_MAX_LENGTH,
        "d" * (limits.DESCRIPTION_MAX_LENGTH + 1),
        "Ensure this value has at most 4000 characters (it has 4001).",
    ),
    "display_name": (
        "n" * limits.DISPLAY_NAME_MAX_LENGTH,
        "n" * (limits.DISPLAY_NAME_MAX_LENGTH + 1),
        "Ensure this value has at most 200 characters (it has 201).",
    ),
    "metadata": (
        sized_object(limits.METADATA_MAX_BYTES),
        sized_object(limits.METADATA_MAX_BYTES + 1),
        METADATA_MESSAGE,
    ),
    "aliases": (
        aliases(limits.ALIASES_MAX_COUNT),
        aliases(limits.ALIASES_MAX_COUNT + 1),
        "Ensure there are at most 32 aliases (there are 33).",
    ),
    "industries": (
        lambda: profiles_of(limits.PROFILES_MAX_COUNT),
        lambda: profiles_of(limits.PROFILES_MAX_COUNT + 1),
        "Ensure there are at most 16 industry profiles (there are 17).",
    ),
    "settings": (
        lambda: profiles_of(1, sized_object(limits.PROFILE_SETTINGS_MAX_BYTES)),
        lambda: profiles_of(1, sized_object(limits.PROFILE_SETTINGS_MAX_BYTES + 1)),
        f"{ANY_SETTINGS}: Ensure this value takes at most 2048 bytes as JSON (it takes 2049).",
    ),
}


# What DRF says first for the one length its serializer checks itself (and publishes in the schema).
API_MESSAGES = {"display_name": "Ensure this field has no more than 200 characters."}


def model_fields(field: str, value) -> dict:
    """The body fields that carry `value` for `field` (settings travel inside industries)."""
    value = value() if callable(value) else value
    return {"industries": value} if field == "settings" else {field: value}


def error_key(field: str) -> str:
    return "industries" if field == "settings" else field


def stored_state() -> tuple:
    return (
        AIModel.objects.count(),
        ModelIndustryProfile.objects.count(),
        AuditEntry.objects.count(),
        Provider.objects.count(),
        Industry.objects.count(),
        ModelDependency.objects.count(),
    )


def post(client, path: str, body: dict, **headers):
    return client.post(path, data=json.dumps(body), content_type="application/json", headers=headers)


# The API.


@pytest.mark.parametrize("field", list(MODEL_LIMITS))
def test_the_api_refuses_a_model_field_one_over_its_limit_and_takes_it_at_the_limit(api, field):
    at_limit, over, message = MODEL_LIMITS[field]
    before = stored_state()

    refused = post(api, MODELS, {"name": "gpt-over", "provider": "openai", **model_fields(field, over)})

    assert (refused.status_code, refused.json()) == (400, {error_key(field): [API_MESSAGES.get(field, message)]})
    assert stored_state() == before
    accepted = post(api, MODELS, {"name": "gpt-at", "provider": "openai", **model_fields(field, at_limit)})
    assert accepted.status_code == 201, accepted.json()
    stored = api.get(accepted.json()["url"]).json()
    assert stored[error_key(field)] == model_fields(field, at_limit)[error_key(field)]


@pytest.mark.parametrize("field", ["description", "metadata", "aliases"])
def test_the_api_refuses_a_change_one_over_a_limit_and_keeps_the_model_as_it_was(api, field):
    model = AIModelFactory(name="gpt-x", provider=Provider.objects.get(slug="openai"))
    _, over, message = MODEL_LIMITS[field]
    before = stored_state()

    response = api.patch(f"{MODELS}/{model.pk}", data=json.dumps({field: over}), content_type="application/json")

    assert (response.status_code, response.json()) == (400, {field: [message]})
    assert stored_state() == before
    assert AIModel.objects.get(pk=model.pk).version == model.version


def test_description_metadata_and_aliases_share_one_budget_and_the_largest_is_named(api):
    metadata = sized_object(limits.MODEL_CONTENT_MAX_BYTES - limits.DESCRIPTION_MAX_LENGTH // 2)
    description = "d" * (limits.MODEL_CONTENT_MAX_BYTES - limits.content_size("", metadata, []))
    before = stored_state()

    refused = post(
        api, MODELS, {"name": "gpt-over", "provider": "openai", "metadata": metadata, "description": description + "d"}
    )

    budget = limits.MODEL_CONTENT_MAX_BYTES
    message = (
        f"Ensure description, metadata and aliases take at most {budget:,} bytes together (they take {budget + 1:,})."
    )
    assert (refused.status_code, refused.json()) == (400, {"metadata": [message]})
    assert stored_state() == before
    accepted = post(
        api, MODELS, {"name": "gpt-at", "provider": "openai", "metadata": metadata, "description": description}
    )
    assert accepted.status_code == 201, accepted.json()


@pytest.mark.parametrize(
    ("misshapen", "field"),
    [({"metadata": ["m" * 4300]}, "metadata"), ({"aliases": ["bad alias"], "metadata": {"m": "m" * 4300}}, "aliases")],
    ids=["metadata-not-an-object", "aliases-with-a-bad-one"],
)
def test_a_part_refused_for_its_shape_is_not_also_refused_for_the_shared_budget(misshapen, field):
    """Over the budget together, but metadata or aliases are refused for what they are
    (model validation: the API's serializer refuses a metadata list before it): that error
    alone is reported, and no share of the budget is named."""
    fields = {"name": "gpt-misshapen", "description": "d" * limits.DESCRIPTION_MAX_LENGTH, **misshapen}
    assert (
        limits.content_size(fields["description"], fields["metadata"], fields.get("aliases"))
        > limits.MODEL_CONTENT_MAX_BYTES
    )

    with pytest.raises(ValidationError) as refused:
        aimodel_create(actor=None, provider=ProviderFactory(), **fields)

    assert list(refused.value.message_dict) == [field]
    assert not [message for message in refused.value.message_dict[field] if "together" in message]


@pytest.mark.parametrize(
    ("description", "metadata", "alias_names"),
    [
        ("d" * limits.DESCRIPTION_MAX_LENGTH, 4300, []),  # a description at its own limit
        ("d", limits.METADATA_MAX_BYTES, []),  # metadata at its own limit
        ("", limits.MODEL_CONTENT_MAX_BYTES - 10, ["alias-tips-it"]),  # the aliases' bytes tip it over
    ],
    ids=["description-at-its-limit", "metadata-at-its-limit", "aliases-tip-it"],
)
def test_parts_each_within_their_own_limit_are_refused_over_the_budget_together(description, metadata, alias_names):
    fields = {"description": description, "metadata": sized_object(metadata), "aliases": alias_names}
    total = limits.content_size(fields["description"], fields["metadata"], fields["aliases"])

    with pytest.raises(ValidationError) as refused:
        aimodel_create(actor=None, provider=ProviderFactory(), name="gpt-over", **fields)

    budget = limits.MODEL_CONTENT_MAX_BYTES
    message = f"Ensure description, metadata and aliases take at most {budget:,} bytes together (they take {total:,})."
    assert refused.value.message_dict == {"metadata": [message]}


def test_a_description_over_its_own_limit_is_refused_for_that_alone():
    with pytest.raises(ValidationError) as refused:
        aimodel_create(
            actor=None,
            provider=ProviderFactory(),
            name="gpt-long",
            description="d" * (limits.DESCRIPTION_MAX_LENGTH + 1),
            metadata=sized_object(4300),
        )

    assert list(refused.value.message_dict) == ["description"]
    assert not [message for message in refused.value.message_dict["description"] if "together" in message]


def test_the_settings_of_all_profiles_share_one_budget(api):
    share = limits.PROFILES_SETTINGS_MAX_BYTES // 2
    profiles = [
        {"industry": slug, "enabled": True, "settings": sized_object(share)} for slug in (ANY_SETTINGS, "extra-0")
    ]
    profiles[1]["settings"] = sized_object(limits.PROFILES_SETTINGS_MAX_BYTES - share + 1)
    before = stored_state()

    refused = post(api, MODELS, {"name": "gpt-over", "provider": "openai", "industries": profiles})

    budget = limits.PROFILES_SETTINGS_MAX_BYTES
    message = f"Ensure the settings of all profiles take at most {budget:,} bytes together (they take {budget + 1:,})."
    assert (refused.status_code, refused.json()) == (400, {"industries": [message]})
    assert stored_state() == before
    profiles[1]["settings"] = sized_object(limits.PROFILES_SETTINGS_MAX_BYTES - share)
    accepted = post(api, MODELS, {"name": "gpt-at", "provider": "openai", "industries": profiles})
    assert accepted.status_code == 201, accepted.json()


REFERENCE_LIMITS = [
    # (path, the rest of a valid body, field, value at the limit, one over, the error)
    (
        "/api/v1/providers",
        {"slug": "acme", "name": "Acme"},
        "description",
        "d" * limits.DESCRIPTION_MAX_LENGTH,
        "d" * (limits.DESCRIPTION_MAX_LENGTH + 1),
        "Ensure this field has no more than 4000 characters.",
    ),
    (
        "/api/v1/industries",
        {"slug": "mining", "name": "Mining"},
        "description",
        "d" * limits.DESCRIPTION_MAX_LENGTH,
        "d" * (limits.DESCRIPTION_MAX_LENGTH + 1),
        "Ensure this field has no more than 4000 characters.",
    ),
    (
        "/api/v1/industries",
        {"slug": "mining", "name": "Mining"},
        "settings_schema",
        {"description": "x" * (limits.SETTINGS_SCHEMA_MAX_BYTES - len('{"description": ""}'))},
        {"description": "x" * (limits.SETTINGS_SCHEMA_MAX_BYTES + 1 - len('{"description": ""}'))},
        "Ensure this value takes at most 16384 bytes as JSON (it takes 16385).",
    ),
]


@pytest.mark.parametrize(("path", "body", "field", "at_limit", "over", "message"), REFERENCE_LIMITS)
def test_the_api_refuses_a_provider_or_industry_field_one_over_its_limit(
    api, path, body, field, at_limit, over, message
):
    before = stored_state()

    refused = post(api, path, {**body, field: over})

    assert (refused.status_code, refused.json()) == (400, {field: [message]})
    assert stored_state() == before
    accepted = post(api, path, {**body, field: at_limit})
    assert accepted.status_code == 201, accepted.json()
    assert accepted.json()[field] == at_limit


@pytest.mark.parametrize(
    ("field", "limit"),
    [
        ("component_type", limits.COMPONENT_TYPE_MAX_LENGTH),
        ("component_id", limits.COMPONENT_ID_MAX_LENGTH),
        ("component_name", limits.COMPONENT_NAME_MAX_LENGTH),
    ],
)
def test_the_api_refuses_a_dependency_field_one_over_its_limit(api, field, limit):
    model = AIModelFactory(name="gpt-x", provider=Provider.objects.get(slug="openai"))
    body = {"component_type": "agent", "component_id": "a-1", "component_name": "An agent"}
    path = f"{MODELS}/{model.pk}/dependencies"
    before = stored_state()

    refused = post(api, path, {**body, field: "a" * (limit + 1)})

    assert (refused.status_code, refused.json()) == (
        400,
        {field: [f"Ensure this field has no more than {limit} characters."]},
    )
    assert stored_state() == before
    assert post(api, path, {**body, field: "a" * limit}).status_code == 201


def test_a_reason_one_over_the_limit_is_refused_at_the_api_not_cut(api):
    model = AIModelFactory(name="gpt-x", provider=Provider.objects.get(slug="openai"))
    before = stored_state()

    header = post(api, MODELS, {"name": "gpt-y", "provider": "openai"}, **{"X-Change-Reason": "r" * 501})
    bulk = post(api, f"{MODELS}/bulk", {"action": "deactivate", "ids": [model.pk], "reason": "r" * 501})

    assert (header.status_code, header.json()) == (
        400,
        {"X-Change-Reason": ["Ensure this value has at most 500 characters (it has 501)."]},
    )
    assert (bulk.status_code, bulk.json()) == (400, {"reason": ["Ensure this field has no more than 500 characters."]})
    assert stored_state() == before
    assert (
        post(api, MODELS, {"name": "gpt-y", "provider": "openai"}, **{"X-Change-Reason": "r" * 500}).status_code == 201
    )
    assert AuditEntry.objects.get(object_repr="gpt-y").reason == "r" * 500


# Imports (the admin's import and the CLI's read the same way) and the CLI.


def import_file(field: str, value) -> tuple[str, bytes]:
    """A one-row file carrying `value`: CSV for text, JSON for the rest."""
    fields = model_fields(field, value)
    if all(isinstance(item, str) for item in fields.values()):
        stream = io.StringIO()
        writer = csv.DictWriter(stream, ["name", "provider", *fields], lineterminator="\n")
        writer.writeheader()
        writer.writerow({"name": "gpt-x", "provider": "openai", **fields})
        return "models.csv", stream.getvalue().encode()
    return "models.json", json.dumps([{"name": "gpt-x", "provider": "openai", **fields}]).encode()


@pytest.mark.parametrize("field", list(MODEL_LIMITS))
def test_an_import_refuses_a_row_one_over_a_limit_and_takes_it_at_the_limit(field):
    at_limit, over, message = MODEL_LIMITS[field]
    before = stored_state()

    refused = import_models(read_source(*import_file(field, over)), actor=None)

    assert refused.applied is False
    assert [row.errors for row in refused.invalid_rows] == [{error_key(field): [message]}]
    assert stored_state() == before
    assert import_models(read_source(*import_file(field, at_limit)), actor=None).summary() == (
        "created=1 updated=0 unchanged=0 invalid=0"
    )


@pytest.mark.parametrize("field", ["description", "metadata", "aliases"])
def test_import_models_reports_a_row_one_over_a_limit_and_applies_nothing(field, tmp_path):
    name, data = import_file(field, MODEL_LIMITS[field][1])
    (tmp_path / name).write_bytes(data)
    stderr = io.StringIO()
    before = stored_state()

    with pytest.raises(CommandError) as caught:
        call_command("import_models", str(tmp_path / name), stdout=io.StringIO(), stderr=stderr)

    assert caught.value.returncode == 1
    ref = "line 2" if name.endswith(".csv") else "item 1 (gpt-x)"
    assert stderr.getvalue().splitlines()[0] == f"{name}: {ref}: {field}: {MODEL_LIMITS[field][2]}"
    assert stored_state() == before


def test_a_command_refuses_a_reason_one_over_the_limit_with_exit_2():
    AIModelFactory(name="gpt-x", provider=Provider.objects.get(slug="openai"))
    before = stored_state()

    with pytest.raises(CommandError) as caught:
        call_command("set_model_status", "gpt-x", "--status", "inactive", "--reason", "r" * 501, stdout=io.StringIO())

    assert (caught.value.returncode, str(caught.value)) == (
        2,
        "--reason: Ensure this value has at most 500 characters (it has 501).",
    )
    assert stored_state() == before


# The admin.


def admin_add(client, **values) -> tuple:
    """Post the admin's add form as a browser fills it in, with `values` typed in."""
    add = "/admin/models_registry/aimodel/add/"
    data = form_fields(page_of(client.get(add)), FORM_ID)
    data |= {"name": ["gpt-x"], "provider": [str(Provider.objects.get(slug="openai").pk)]}
    data |= {field: [value] for field, value in values.items()}
    return client.post(add, data)


ADMIN_LIMITS = {
    "description": MODEL_LIMITS["description"],
    "display_name": MODEL_LIMITS["display_name"],
    "metadata": (
        json.dumps(MODEL_LIMITS["metadata"][0]),
        json.dumps(MODEL_LIMITS["metadata"][1]),
        MODEL_LIMITS["metadata"][2],
    ),
    "aliases": (
        "\n".join(MODEL_LIMITS["aliases"][0]),
        "\n".join(MODEL_LIMITS["aliases"][1]),
        MODEL_LIMITS["aliases"][2],
    ),
    "change_reason": ("r" * 500, "r" * 501, "Ensure this value has at most 500 characters (it has 501)."),
}


@pytest.mark.parametrize("field", list(ADMIN_LIMITS))
def test_the_admin_form_refuses_a_field_one_over_its_limit_and_takes_it_at_the_limit(field):
    at_limit, over, message = ADMIN_LIMITS[field]
    client = signed_in(staff("admin"))
    before = stored_state()

    refused = admin_add(client, **{field: over})

    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors == {field: [message]}
    assert stored_state() == before
    accepted = admin_add(client, **{field: at_limit})
    assert accepted.status_code == 302, accepted.context["adminform"].form.errors
    assert AIModel.objects.filter(name="gpt-x").exists()


# The page.


def page_rows(industries: list[str]) -> list[dict]:
    """500 models that take the most bytes the limits allow: astral characters (four bytes
    in UTF-8, twelve as JSON escapes) wherever free text may go, names and aliases at 200
    characters, every capability, the most profiles; the shared budgets filled by the
    field that renders largest for its count (metadata, escaped on SQLite) and the rest by
    the description, and all the profiles' settings in one profile."""
    wide = "\U0001f600"
    object_of = lambda size: {"k": wide * ((size - len('{"k": ""}')) // 12)}  # noqa: E731
    aliases_of = lambda number: [  # noqa: E731
        f"a{number:03d}-{index:02d}-" + "a" * 191 for index in range(limits.ALIASES_MAX_COUNT)
    ]
    rows = []
    for number in range(500):
        aliases = aliases_of(number)
        metadata = object_of(min(limits.METADATA_MAX_BYTES, limits.MODEL_CONTENT_MAX_BYTES - limits.json_size(aliases)))
        left = limits.MODEL_CONTENT_MAX_BYTES - limits.content_size("", metadata, aliases)
        profiles = [{"industry": slug, "enabled": True, "settings": {}} for slug in industries]
        empty_settings = limits.json_size({}) * (len(profiles) - 1)
        profiles[0]["settings"] = object_of(limits.PROFILES_SETTINGS_MAX_BYTES - empty_settings)
        rows.append(
            {
                "name": f"m{number:03d}-" + "n" * 195,
                "display_name": wide * limits.DISPLAY_NAME_MAX_LENGTH,
                "provider": "p" * 100,
                "capabilities": sorted(Capability.values),
                "context_window": 100_000_000,
                "max_output_tokens": 100_000_000,
                "input_cost_per_million_tokens": "999999.9999999999",
                "output_cost_per_million_tokens": "999999.9999999999",
                "status": "deprecated",
                "deprecation_date": "2026-01-01",
                "successor": f"m{number + 1:03d}-" + "n" * 195 if number < 499 else None,
                "description": wide * (left // 4),
                "metadata": metadata,
                "aliases": aliases,
                "industries": profiles,
            }
        )
    return rows


def test_a_page_of_500_models_as_large_as_the_limits_allow_stays_under_the_documented_bound(api, settings):
    industries = [f"i{number:02d}".ljust(100, "x") for number in range(limits.PROFILES_MAX_COUNT)]
    Industry.objects.bulk_create(Industry(slug=slug, name=slug) for slug in industries)
    rows = page_rows(industries)
    settings.IMPORT_MAX_BYTES = 2**30
    report = import_models(read_source("page.json", json.dumps(rows).encode()), actor=None)
    assert report.summary() == "created=500 updated=0 unchanged=0 invalid=0", report.invalid_rows[0].errors
    for number in range(3):  # dependency counts are numbers: a few digits each
        ModelDependency.objects.create(model=AIModel.objects.first(), component_type="agent", component_id=number)

    response = api.get(MODELS, {"page_size": 500})

    assert response.status_code == 200
    assert len(response.json()["results"]) == 500
    assert len(response.content) <= limits.PAGE_OF_500_MAX_BYTES, len(response.content)


# The docs.

DOCS = Path(__file__).resolve().parents[2] / "docs"


def section(document: str, title: str) -> str:
    return (DOCS / document).read_text().split(f"\n{title}\n")[1].split("\n## ")[0].split("\n### ")[0]


def test_the_api_reference_states_every_field_limit():
    text = section("api.md", "## Limits")

    for limit in [
        f"{limits.DISPLAY_NAME_MAX_LENGTH} characters",
        f"{limits.DESCRIPTION_MAX_LENGTH:,} characters",
        f"{limits.METADATA_MAX_BYTES:,} bytes as JSON",
        f"{limits.ALIASES_MAX_COUNT} per model",
        f"{limits.PROFILES_MAX_COUNT} profiles per model",
        f"{limits.PROFILE_SETTINGS_MAX_BYTES:,} bytes as JSON",
        f"{limits.SETTINGS_SCHEMA_MAX_BYTES:,} bytes as JSON",
        f"{limits.COMPONENT_TYPE_MAX_LENGTH} / {limits.COMPONENT_ID_MAX_LENGTH} / "
        f"{limits.COMPONENT_NAME_MAX_LENGTH} characters",
        f"{limits.REASON_MAX_LENGTH} characters",
        f"**{limits.PAGE_OF_500_MAX_BYTES // 2**20} MiB**",
    ]:
        assert limit in text, limit


def test_the_operators_guide_states_every_import_limit_and_its_variable():
    text = section("operators.md", "### Import limits")

    for limit in [
        f"| {limits.IMPORT_MAX_BYTES // 2**20} MiB | `IMPORT_MAX_BYTES` |",
        f"| {limits.IMPORT_MAX_ROWS:,} (five times",
        "| `IMPORT_MAX_ROWS` |",
        f"| {limits.IMPORT_MAX_INFLATED_BYTES // 2**20} MiB | `IMPORT_MAX_INFLATED_BYTES` |",
        f"| {limits.XLSX_MAX_RATIO} to 1 |",
        f"| {limits.XLSX_MAX_ENTRIES:,} |",
        f"| {limits.IMPORT_MAX_JSON_DEPTH} levels |",
        f"| {limits.IMPORT_MAX_CELL_CHARACTERS:,} characters |",
    ]:
        assert limit in text, limit
