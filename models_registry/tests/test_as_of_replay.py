"""As-of reads (issue 14) agree with the audit trail: random changes at random instants (a
controlled clock), then GET /api/v1/models and a model's detail `as_of` random instants equal
the registry replayed from the change events up to that instant (`replay.Replay`), to the
second: every audited field, the provider's slug, the successor's name, the industry
profiles and the dependency count; and a filter selects from that state."""

import datetime
from decimal import Decimal
from unittest import mock

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase
from rest_framework.test import APIClient

from models_registry.choices import ModelStatus
from models_registry.models import AIModel, Industry, Provider
from models_registry.services import (
    HasDependenciesError,
    ProfileInput,
    aimodel_create,
    aimodel_delete,
    aimodel_update,
    dependency_register,
    reference_save,
)
from models_registry.tests.replay import Replay, events_after, last_position, registry_state

START = datetime.datetime(2026, 3, 1, 9, 0, tzinfo=datetime.UTC)
HALF_SECOND = datetime.timedelta(milliseconds=500)
NAMES = ["alpha", "beta", "gamma", "delta"]
SLUGS = ["acme", "acme-2", "zeta"]

prices = st.one_of(st.none(), st.decimals(min_value=0, max_value=100, places=2).map(str))
picks = st.integers(0, 9)
operations = st.one_of(
    st.tuples(st.just("create"), st.sampled_from(NAMES), prices),
    st.tuples(st.just("price"), picks, prices),
    st.tuples(st.just("status"), picks, st.sampled_from(ModelStatus.values)),
    st.tuples(st.just("rename"), picks, st.sampled_from(NAMES)),
    st.tuples(st.just("aliases"), picks, st.lists(st.sampled_from(["a-1", "a-2", "a-3"]), unique=True, max_size=2)),
    st.tuples(st.just("profiles"), picks, st.lists(st.integers(0, 2), unique=True, max_size=2)),
    st.tuples(st.just("successor"), picks, picks),
    st.tuples(st.just("depend"), picks, st.integers(0, 3)),
    st.tuples(st.just("delete"), picks, st.none()),
    st.tuples(st.just("provider"), st.sampled_from(SLUGS), st.none()),
)
# (half-seconds after the step before: 0 is the same instant, operation)
programs = st.lists(st.tuples(st.sampled_from([0, 0, 1, 2, 4]), operations), min_size=1, max_size=10)
# Instants to read at: (a step, half-seconds from the instant it was made at), so that reads
# fall on the instants of changes, just before them and just after.
instants = st.lists(st.tuples(st.integers(0, 9), st.sampled_from([-1, 0, 0, 1])), min_size=1, max_size=5)


class TestAsOfReadsEqualTheReplayedTrail(TestCase):
    """As of any instant, the API shows what the events up to that instant replay to."""

    # Two changes of one model at one instant: the one written last is the state of then.
    @example([(0, ("create", "alpha", None)), (0, ("price", 0, "5"))], [(1, 0)])
    @given(programs, instants)
    def test_as_of_reads_equal_the_replayed_audit_trail(self, program, reads):
        clock = [START]
        with mock.patch.object(timezone, "now", lambda: clock[0]):
            start_state, start_position = registry_state(), last_position()
            provider = reference_save(instance=Provider(slug="acme", name="Acme"), actor=None)
            industries = list(Industry.objects.order_by("slug")[:3])
            made_at = []
            for half_seconds, operation in program:
                clock[0] += half_seconds * HALF_SECOND
                made_at.append(clock[0])
                apply(operation, provider, industries)
            events = events_after(start_position)
            clock[0] += 100 * HALF_SECOND
            client = APIClient()
            client.force_authenticate(get_user_model().objects.create_superuser("reader", "r@example.com", None))
            for step, half_seconds in reads:
                instant = made_at[step % len(made_at)] + half_seconds * HALF_SECOND
                replayed = Replay(start_state).apply(
                    [e for e in events if datetime.datetime.fromisoformat(e["occurred_at"]) <= instant]
                )
                listed = client.get("/api/v1/models", {"as_of": instant.isoformat(), "page_size": "500"})
                assert listed.status_code == 200, listed.content
                shown = [as_replayed(model) for model in listed.json()["results"]]
                assert shown == expected_models(replayed), instant
                active = client.get("/api/v1/models", {"as_of": instant.isoformat(), "status": "active"})
                assert [as_replayed(model) for model in active.json()["results"]] == [
                    model for model in expected_models(replayed) if model["values"]["status"] == "active"
                ]
                for model in listed.json()["results"]:
                    one = client.get(f"/api/v1/models/{model['id']}", {"as_of": instant.isoformat()})
                    assert one.json() == model


def apply(operation, provider: Provider, industries: list[Industry]) -> None:
    """One change through the services; a refused one changes nothing, as a door's would."""
    kind, first, second = operation
    live = list(AIModel.objects.order_by("pk"))
    try:
        if kind == "create":
            aimodel_create(actor=None, name=first, provider=provider, input_cost_per_million_tokens=second)
        elif kind == "provider":
            provider.refresh_from_db()
            provider.slug = first
            reference_save(instance=provider, actor=None)
        elif live:
            model = live[first % len(live)]
            if kind == "price":
                aimodel_update(model=model, actor=None, input_cost_per_million_tokens=second)
            elif kind == "status":
                aimodel_update(model=model, actor=None, status=second)
            elif kind == "rename":
                aimodel_update(model=model, actor=None, name=second)
            elif kind == "aliases":
                aimodel_update(model=model, actor=None, aliases=second)
            elif kind == "profiles":
                chosen = [ProfileInput(industry=industries[i], enabled=True, settings={}) for i in second]
                aimodel_update(model=model, actor=None, industries=chosen)
            elif kind == "successor":
                aimodel_update(model=model, actor=None, successor=live[second % len(live)])
            elif kind == "depend":
                dependency_register(model=model, component_type="agent", component_id=f"c-{second}", actor=None)
            elif kind == "delete":
                aimodel_delete(model=model, actor=None)
    except (ValidationError, HasDependenciesError):
        pass


AUDITED = [
    "name", "display_name", "provider", "model_type", "capabilities", "context_window", "max_output_tokens",
    "input_cost_per_million_tokens", "output_cost_per_million_tokens", "status", "deprecation_date",
    "sunset_date", "successor", "description", "metadata", "aliases",
]  # fmt: skip


def as_replayed(model: dict) -> dict:
    """An API model in the replay's terms: audited fields with values, then its parts."""
    values = {name: model[name] for name in AUDITED if model[name] is not None}
    profiles = sorted((p["industry"], p["enabled"], p["settings"]) for p in model["industries"])
    return {"values": normalized(values), "profiles": profiles, "dependencies": model["dependency_count"]}


def expected_models(state) -> list[dict]:
    models = sorted(((values["name"], key) for key, values in state.items() if key[0] == "aimodel"))
    expected = []
    for name, key in models:
        profiles = sorted(
            (v["industry"], v["enabled"], v.get("settings", {}))
            for (kind, _), v in state.items()
            if kind == "modelindustryprofile" and v["model"] == name
        )
        dependencies = sum(1 for (kind, _), v in state.items() if kind == "modeldependency" and v["model"] == name)
        expected.append({"values": normalized(state[key]), "profiles": profiles, "dependencies": dependencies})
    return expected


def normalized(values: dict) -> dict:
    """Prices as numbers (the API and the diffs write the same number the same way, but say so)."""
    return {name: Decimal(value) if name.endswith("_per_million_tokens") else value for name, value in values.items()}
