"""Property 5 through the API: a valid model POSTed to /api/v1/models reads back from its
GET with identical values in every writable field (capabilities as a sorted set, prices as
the decimals sent), and the POST's own answer says the same.
"""

import datetime
import json
from decimal import Decimal

from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client, override_settings
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from accounts.services import api_token_create
from models_registry.api.serializers import AIModelSerializer
from models_registry.tests import strategies
from models_registry.tests.factories import AIModelFactory, ProviderFactory

WRITABLE = [name for name, field in AIModelSerializer().fields.items() if not field.read_only]
OTHER_MODEL = "successor-model"

healthcare_settings = st.fixed_dictionaries(
    {}, optional={"max_temperature": st.floats(0, 2), "phi_allowed": st.booleans()}
)
profiles = st.lists(
    st.one_of(
        st.fixed_dictionaries({"industry": st.just("general"), "enabled": st.booleans(), "settings": st.just({})}),
        st.fixed_dictionaries(
            {"industry": st.just("healthcare"), "enabled": st.booleans(), "settings": healthcare_settings}
        ),
        st.fixed_dictionaries({"industry": st.just("finance"), "enabled": st.booleans(), "settings": st.just({})}),
    ),
    max_size=3,
    unique_by=lambda profile: profile["industry"],
)


@st.composite
def valid_models(draw) -> dict:
    """Every writable field, each a valid JSON value (strategies.VALID_FIELDS as JSON)."""
    fields = {name: draw(value) for name, value in strategies.VALID_FIELDS.items()}
    deprecation = fields["deprecation_date"]
    sunset = None if deprecation is None else draw(st.none() | st.integers(0, 900).map(datetime.timedelta))
    fields |= {
        "provider": "acme",
        "sunset_date": None if sunset is None else deprecation + sunset,
        "successor": draw(st.sampled_from([None, OTHER_MODEL])),
        "industries": draw(profiles),
    }
    return json.loads(json.dumps(fields, default=str))  # dates and decimals as the API writes them


# Every field at an edge of what it holds, tried on every run.
EDGES = {
    "name": "N.a:b/c@d+e-f",
    "display_name": "\u00dcn\u00efcode \U0001f600\tname",
    "provider": "acme",
    "model_type": "image_generation",
    "capabilities": ["vision", "streaming", "vision"],
    "context_window": 100_000_000,
    "max_output_tokens": 0,
    "input_cost_per_million_tokens": "0.0000000001",
    "output_cost_per_million_tokens": "999999.9999999999",
    "status": "deprecated",
    "deprecation_date": "2026-01-31",
    "sunset_date": "2026-02-01",
    "successor": OTHER_MODEL,
    "description": " \tspace and tab around, a line\nand more \n",
    "industries": [{"industry": "healthcare", "enabled": False, "settings": {"max_temperature": 1.5}}],
    "metadata": {"nested": {"list": [1, 2.5, None, True, "\u00e9", -(2**62)]}, "": ""},
    "aliases": ["aAlias-1", "AAlias.2"],
}


def as_read(field: str, value):
    """A value as the contract says it is returned."""
    if field == "capabilities":
        return sorted(set(value))
    if field.endswith("_cost_per_million_tokens") and value is not None:
        return Decimal(value)
    if field == "industries":
        return sorted((p["industry"], p["enabled"], p["settings"]) for p in value)
    return value


def test_the_drawn_models_cover_every_writable_field():
    assert set(strategies.VALID_FIELDS) | {"provider", "sunset_date", "successor", "industries"} == set(WRITABLE)
    assert set(EDGES) == set(WRITABLE)


# Hundreds of requests from one client: the rate limit is tested on its own.
@override_settings(REST_FRAMEWORK={**django_settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"client": None}})
class TestRoundTripThroughTheApi(TestCase):
    def setUp(self):
        editor = get_user_model().objects.create_user("editor", password="correct horse battery staple")
        editor.groups.add(Group.objects.get(name="Model Editors"))
        _, key = api_token_create(user=editor)
        self.client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {key}")
        AIModelFactory(name=OTHER_MODEL, provider=ProviderFactory(slug="acme"))

    @settings(max_examples=60, deadline=None)
    @example(EDGES)
    @given(valid_models())
    def test_what_is_posted_reads_back_identical(self, sent):
        created = self.client.post("/api/v1/models", json.dumps(sent), content_type="application/json")
        assert created.status_code == 201, created.content

        read = self.client.get(created["Location"])

        assert read.status_code == 200
        for answer in (created.json(), read.json()):
            assert {f: as_read(f, answer[f]) for f in WRITABLE} == {f: as_read(f, sent[f]) for f in WRITABLE}
