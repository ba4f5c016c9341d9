# ruff: noqa: RUF001 (the confusable letters are the point)
"""One filter definition for every door (issue 13, item 1): the admin's list (its search box
and side filters), the list's "export the filtered list", the API's list and
`export_models` select the same models for the same parameters, whatever they are."""

import io
import json

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from hypothesis import example, given, note
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase
from rest_framework.test import APIClient

from accounts.roles import ROLE_GROUPS
from accounts.services import api_token_create
from models_registry.choices import Capability, ModelStatus, ModelType
from models_registry.services import dependency_register
from models_registry.tests.factories import AIModelFactory, ProviderFactory, profile

CHANGELIST = "/admin/models_registry/aimodel/"
PROVIDERS = ["acme", "globex", "initech"]
INDUSTRIES = ["general", "finance", "healthcare"]
# What a person types: the registry's own pieces, and characters that mean something to
# SQL's LIKE, to JSON, to Django's admin search (quotes) or to case folding.
ODD = ['"', "'", "[", "]", "%", "_", "\\", "{", ":", ",", " ", "İ", "ß", "Σ", "ﬁ", "-", "."]
PIECES = ["gpt", "GPT", "vis", "acme", "Globex", "chat", "embed", "ſearch", "Straße", '["', "4o mini", "vision"]

search_texts = st.one_of(
    st.sampled_from(PIECES),
    st.lists(st.sampled_from(ODD + list("aegimnpst")), max_size=6).map("".join),
)


def some(values):
    """A repeated parameter: any one or two of `values` (an unknown one included)."""
    return st.lists(st.sampled_from(values), min_size=1, max_size=2, unique=True)


filters = st.fixed_dictionaries(
    {},
    optional={
        "search": search_texts,
        "provider": some([*PROVIDERS, "nobody"]),
        "model_type": some(ModelType.values[:4]),
        "status": some(ModelStatus.values),
        "industry": some([*INDUSTRIES, "mining"]),
        "capability": some(Capability.values[:4]),
        "has_dependencies": st.sampled_from(["true", "false"]).map(lambda value: [value]),
    },
)


class TestEveryDoorSelectsTheSameModels(TestCase):
    @classmethod
    def setUpTestData(cls):
        acme, globex, _ = (ProviderFactory(slug=slug, name=f"{slug.title()} Inc") for slug in PROVIDERS)
        function_calling, vision = Capability.FUNCTION_CALLING, Capability.VISION
        made = [
            AIModelFactory(name="gpt-4o", provider=acme, capabilities=[function_calling, vision],
                           description='Says ["hi"] in 50% of cases', industries=[profile("general")]),
            AIModelFactory(name="gpt-4o-mini", provider=acme, aliases=["4o-mini"], display_name="GPT 4o mini",
                           capabilities=[function_calling], industries=[profile("finance", enabled=False)]),
            AIModelFactory(name="acme-embed", provider=acme, model_type=ModelType.EMBEDDING, status="deprecated",
                           description="Straße_1 {search}", industries=[profile("healthcare")]),
            AIModelFactory(name="globex-vision", provider=globex, capabilities=[vision], status="inactive",
                           description="İstanbul: images, 'quoted'",
                           industries=[profile("general"), profile("finance")]),
            AIModelFactory(name="globex-chat", provider=globex, model_type=ModelType.COMPLETION,
                           description="a \\ backslash and SIGMA Σ", capabilities=[Capability.REASONING]),
            AIModelFactory(name="plain", provider=globex, model_type=ModelType.RESPONSES, description="ﬁne"),
        ]  # fmt: skip
        for model in made[::2]:
            dependency_register(model=model, component_type="agent", component_id=f"uses-{model.pk}", actor=None)
        cls.viewer = get_user_model().objects.create_user("door-viewer", password="x", is_staff=True)
        cls.viewer.groups.add(Group.objects.get(name=ROLE_GROUPS["viewer"]))

    def setUp(self):
        _, key = api_token_create(user=self.viewer)
        self.api = APIClient()
        self.api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        self.admin = Client()
        self.admin.force_login(self.viewer)

    def doors(self, params: dict[str, list[str]]) -> dict[str, list[str]]:
        """The names each door selects for `params` (the API's parameters), sorted."""
        admin_params = {("q" if name == "search" else name): values for name, values in params.items()}
        listed = self.admin.get(CHANGELIST, admin_params)
        exported = self.admin.get(f"{CHANGELIST}export/", {**admin_params, "export_format": "json"})
        api = self.api.get("/api/v1/models", {**params, "page_size": 500})
        assert (listed.status_code, exported.status_code, api.status_code) == (200, 200, 200)
        out = io.StringIO()
        call_command("export_models", format="json", stdout=out, stderr=io.StringIO(), **params)
        return {
            "admin list": sorted(listed.context_data["cl"].queryset.values_list("name", flat=True)),
            "admin export": sorted(row["name"] for row in json.loads(b"".join(exported.streaming_content))),
            "api": sorted(row["name"] for row in api.json()["results"]),
            "export_models": sorted(row["name"] for row in json.loads(out.getvalue())),
        }

    @given(filters)
    @example({"search": ['["']})  # the admin once found a model for this and the API none
    @example({"search": ["4o mini"]})  # the admin once searched each word on its own
    @example({"provider": ["acme", "globex"], "capability": ["vision"], "has_dependencies": ["true"]})
    def test_the_list_its_export_the_api_and_the_command_select_the_same_models(self, params):
        params = {name: values if isinstance(values, list) else [values] for name, values in params.items()}
        note(f"params={params!r}")

        selected = self.doors(params)

        assert selected["admin list"] == selected["admin export"] == selected["api"] == selected["export_models"], (
            selected
        )

    def test_the_side_filters_take_the_apis_parameter_names_and_values(self):
        page = self.admin.get(CHANGELIST, {"provider": "acme", "status": "active", "has_dependencies": "true"})

        assert sorted(model.name for model in page.context_data["cl"].result_list) == ["gpt-4o"]
        links = {spec.title: [choice["query_string"] for choice in spec.choices(page.context_data["cl"])]
                 for spec in page.context_data["cl"].filter_specs}  # fmt: skip
        assert "?has_dependencies=true&provider=globex&status=active" in links["provider"], links["provider"]

    def test_a_value_the_api_refuses_is_an_incorrect_parameter_of_the_list(self):
        for query in ["status=bogus", "provider=Not%20a%20slug", "status=", "has_dependencies=yes", "capability="]:
            api = self.api.get(f"/api/v1/models?{query}")
            listed = self.admin.get(f"{CHANGELIST}?{query}")
            exported = self.admin.get(f"{CHANGELIST}export/?{query}")

            assert api.status_code == 400, query
            assert (listed.status_code, listed["Location"]) == (302, f"{CHANGELIST}?e=1"), query
            assert (exported.status_code, exported["Location"]) == (302, f"{CHANGELIST}?e=1"), query

    def test_facet_counts_count_each_choice_on_its_own(self):
        page = self.admin.get(CHANGELIST, {"provider": ["acme", "globex"], "_facets": "1"})

        cl = page.context_data["cl"]
        [provider] = [spec for spec in cl.filter_specs if spec.parameter_name == "provider"]
        shown = [str(choice["display"]) for choice in provider.choices(cl)]
        assert len(cl.result_list) == 6
        assert shown == ["All", "acme (3)", "globex (3)", "initech (0)"], shown

    def test_the_filtered_list_costs_the_same_queries_however_many_models_it_shows(self):
        params = {"provider": ["acme", "globex"], "industry": "general", "capability": "vision", "q": "o"}

        with CaptureQueriesContext(connection) as few:
            first = self.admin.get(CHANGELIST, params)
        for index in range(8):
            AIModelFactory(name=f"more-{index}", provider=ProviderFactory(slug="acme"),
                           capabilities=[Capability.VISION], industries=[profile("general")])  # fmt: skip
        with CaptureQueriesContext(connection) as many:
            second = self.admin.get(CHANGELIST, params)

        assert (len(first.context_data["cl"].result_list), len(second.context_data["cl"].result_list)) == (2, 10)
        assert len(many) == len(few), [query["sql"] for query in many]

    def test_the_unfiltered_list_has_no_condition_so_a_huge_table_is_counted_from_the_estimate(self):
        cl = self.admin.get(CHANGELIST, {"q": "  "}).context_data["cl"]

        assert not cl.queryset.query.where  # a condition the search added would cost every count (common/paginators.py)
        assert cl.queryset.count() == 6
