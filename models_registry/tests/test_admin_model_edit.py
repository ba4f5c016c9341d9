"""A model in the admin: what its list row and change form show (Property 1: Model Display
Completeness; Property 6: Edit Form Population Accuracy), and what a posted edit stores or
refuses (Property 7: Update Validation and Persistence; Property 10: Error Handling and
Recovery).

Every test drives the real admin with Django's test `Client` and reads what a browser
would (models_registry/tests/admin_pages.py). What the admin claims is then checked
against what is stored, read back from the database."""

import datetime
from unittest import mock

from django.contrib.admin.models import LogEntry
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.html import escape
from hypothesis import assume, example, given
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from audit.choices import AuditAction, ChangeSource
from models_registry.choices import Capability
from models_registry.limits import PROFILES_SETTINGS_MAX_BYTES, json_size
from models_registry.models import AIModel, Industry, ModelDependency, ModelIndustryProfile
from models_registry.services import ProfileInput, aimodel_create, aimodel_update, dependency_register
from models_registry.tests import strategies
from models_registry.tests.admin_pages import (
    CHANGELIST,
    EMPTY,
    FORM_FIELDS,
    FORM_ID,
    MODEL_FIELDS,
    PROFILES,
    add_profile_form,
    audit_entries_after,
    canonical_profiles,
    change_url,
    control_names,
    create_from_spec,
    draw_model,
    encode_field,
    form_errors,
    form_fields,
    history_url,
    industry_ids,
    industry_schemas,
    industry_settings,
    model_specs,
    one_line,
    page_of,
    post_data,
    price_shown,
    profile_index,
    result_rows,
    set_profile,
    shown_profiles,
    shown_values,
    signed_in,
    staff,
    stored_profiles,
    stored_values,
    whole_state,
)
from models_registry.tests.factories import ProviderFactory

# =====================================================================================
# Property 1: Model Display Completeness
# =====================================================================================


class TestEveryStoredFieldIsShown(TestCase):
    """Property 1: Model Display Completeness.

    Every stored field of every model is on screen: in its row of the list
    (name, display name, provider, type, status, context window, prices, dependency count,
    last change and who) or in its change form (every editable field, its industry
    profiles with their settings, its dependencies); creation shows in its history."""

    def test_the_form_has_a_control_for_every_editable_field_of_the_model(self):
        editable = {f.name for f in AIModel._meta.concrete_fields if f.editable and not f.primary_key}
        assert editable == set(FORM_FIELDS)

    @given(st.data())
    def test_every_field_of_every_model_is_shown(self, data):
        editor = staff("editor")
        providers = [ProviderFactory(), ProviderFactory()]
        registry = []
        for _ in range(data.draw(st.integers(1, 3), label="models")):
            successor = data.draw(st.none() | st.sampled_from(registry)) if registry else None
            actor = data.draw(st.sampled_from([None, editor]), label="actor")
            model = draw_model(data, provider=data.draw(st.sampled_from(providers)), actor=actor, successor=successor)
            for number in range(data.draw(st.integers(0, 2), label="dependencies")):
                dependency_register(model=model, component_type="agent", component_id=f"a{number}", actor=None)
            registry.append(model)
        client = signed_in(staff(superuser=True))

        rows = {selected: cells for selected, _, cells in result_rows(page_of(client.get(CHANGELIST)))}

        assert set(rows) == {str(model.pk) for model in registry}
        for model in AIModel.objects.filter(pk__in=[m.pk for m in registry]).select_related("provider"):
            cells = rows[str(model.pk)]
            shown_when, shown_who = cells["last_change"].split("\n")
            assert cells["name"] == model.name
            assert cells["display_name"] == (model.display_name or EMPTY)
            assert cells["provider"] == model.provider.slug
            assert cells["model_type"] == model.get_model_type_display()
            assert cells["status_badge"] == model.get_status_display()
            assert cells["context_window"] == (EMPTY if model.context_window is None else str(model.context_window))
            assert price_shown(cells["input_price"]) == model.input_cost_per_million_tokens
            assert price_shown(cells["output_price"]) == model.output_cost_per_million_tokens
            assert int(cells["dependency_total"]) == ModelDependency.objects.filter(model=model).count()
            assert shown_when == timezone.localtime(model.updated_at).strftime("%Y-%m-%d %H:%M")
            assert shown_who == (model.updated_by or "—")

        shown = data.draw(st.sampled_from(registry), label="opened")
        page = page_of(client.get(change_url(shown.pk)))
        submitted = form_fields(page, FORM_ID)

        assert set(FORM_FIELDS) <= control_names(page, FORM_ID)
        assert shown_values(submitted) == stored_values(shown.pk)
        assert canonical_profiles(shown_profiles(submitted)) == canonical_profiles(stored_profiles(shown.pk))
        assert submitted["loaded_version"] == [str(AIModel.objects.get(pk=shown.pk).version)]
        dependencies = page.find("div", id="dependencies-group")
        listed = dependencies.text() if dependencies is not None else ""
        for component_id in ModelDependency.objects.filter(model=shown).values_list("component_id", flat=True):
            assert f"agent:{component_id}" in listed

        history = page_of(client.get(history_url(shown.pk))).find("table", id="change-history")
        created = [row.elements("td") for row in history.find("tbody").elements("tr")][-1]
        when, who, what = (cell.text() for cell in created[:3])
        stored = AIModel.objects.get(pk=shown.pk)
        assert what == "create"
        assert who == (stored.created_by or "system")
        shown_created = datetime.datetime.strptime(when, "%Y-%m-%d %H:%M:%S").replace(tzinfo=datetime.UTC)
        assert abs(shown_created - stored.created_at.replace(microsecond=0)) <= datetime.timedelta(seconds=1)


# =====================================================================================
# Property 6: Edit Form Population Accuracy
# =====================================================================================


class TestTheChangeFormOpensWithTheStoredValues(TestCase):
    """Property 6: Edit Form Population Accuracy.

    The change form opens with exactly the stored values (the form's initial
    data and what its HTML would submit), and saving it untouched changes nothing."""

    # A profile without approved use cases whose list setting is not in the order of the
    # checkboxes: an untouched save rewrites it and audits a change nobody made.
    @example(
        {"name": "n-untouched", "fields": {}, "profiles": {"general": (True, {"certifications": ["GDPR", "HIPAA"]})}},
        True,
    )
    @given(model_specs(max_profiles=3), st.booleans())
    def test_the_form_opens_with_exactly_the_stored_values(self, spec, with_successor):
        provider = ProviderFactory()
        peer = aimodel_create(actor=None, provider=provider, name="peer-model")
        model = create_from_spec(spec, provider=provider, successor=peer if with_successor else None)
        client = signed_in(staff("editor"))
        before = whole_state(model.pk)

        response = client.get(change_url(model.pk))

        form = response.context["adminform"].form
        stored = stored_values(model.pk)
        initial = {name: initial_value(form, name) for name in FORM_FIELDS}
        assert {**initial, "capabilities": sorted(initial["capabilities"])} == stored
        assert initial_value(form, "loaded_version") == before["version"]
        assert initial_value(form, "change_reason") in (None, "")
        (profiles_formset,) = [
            inline.formset for inline in response.context["inline_admin_formsets"] if inline.formset.prefix == PROFILES
        ]
        initial_profiles = {}
        for profile_form in profiles_formset.forms:
            industry = initial_value(profile_form, "industry")
            names = industry_schemas()[industry]["properties"]
            settings = {name: initial_value(profile_form, f"setting__{name}") for name in names}
            initial_profiles[industry] = (
                initial_value(profile_form, "enabled"),
                {name: value for name, value in settings.items() if value is not None},
            )
        assert initial_profiles == stored_profiles(model.pk)

        submitted = form_fields(page_of(response), FORM_ID)
        assert shown_values(submitted) == stored
        assert canonical_profiles(shown_profiles(submitted)) == canonical_profiles(stored_profiles(model.pk))

        saved = client.post(change_url(model.pk), post_data(submitted))

        assert saved.status_code == 302, form_errors(saved)
        after = whole_state(model.pk)
        assert after == before  # the catalog version included: nothing changed, no new version


def initial_value(form, name: str):
    """What an unbound form starts a field with (before the widget formats it)."""
    return form.get_initial_for_field(form.fields[name], name)


# =====================================================================================
# Property 7: Update Validation and Persistence
# =====================================================================================

# What a person can post: checkboxes cannot send a capability twice.
EDITS = {
    **MODEL_FIELDS,
    "name": strategies.names,
    "capabilities": st.lists(st.sampled_from(Capability.values), max_size=6, unique=True),
}

# Values a person can type that the admin must refuse, by field (Property 10 uses them too).
PRICE_TYPOS = ["-0.01", "1000000", "12345678", "0.00000000001", "1e-11", "abc", "NaN", "Infinity"]
BAD_INPUTS = {
    "name": st.sampled_from(["", "-leading-dash", "has space", "ünïcode", "n" * 201, "semi;colon", "<peer name>"]),
    "display_name": st.sampled_from(["d" * 201, "bell\x07ring"]),
    "description": st.sampled_from(["vertical\x0btab", "escape \x1b[31m red"]),
    "context_window": st.sampled_from(["0", "-5", "100000001", "1.5", "many"]),
    "max_output_tokens": st.sampled_from(["-1", "100000001", "ten"]),
    "input_cost_per_million_tokens": st.sampled_from(PRICE_TYPOS),
    "output_cost_per_million_tokens": st.sampled_from(PRICE_TYPOS),
    "deprecation_date": st.sampled_from(["2024-13-01", "soon", "2023-02-29"]),
    "sunset_date": st.sampled_from(["2024-13-01", "later", "2023-02-29"]),
    "metadata": st.sampled_from(["[1, 2]", '"x"', "3", "{not json", '{"k": "v\\u0000"}']),
    "aliases": st.sampled_from(["bad alias", "-dash", "aDup\nadup", "<peer name>", "<peer alias>"]),
    "successor": st.sampled_from(["<itself>", "<its predecessor>"]),
}
BAD_SETTINGS = {
    "max_temperature": ["3", "-0.5", "warm"],
    "minimum_user_age": ["22", "-1", "1.5"],
    "notes": ["x" * 2001],
    "approved_use_cases": ["y" * 101],
}


def bad_text(value: str, *, model: AIModel, peer: AIModel) -> str:
    """A BAD_INPUTS value made concrete for this model and its peer."""
    return {
        "<peer name>": peer.name.swapcase(),
        "<peer alias>": peer.aliases[0].upper(),
        "<itself>": str(model.pk),
        "<its predecessor>": str(peer.pk),
    }.get(value, value)


PROFILE_CHANGES = ["keep", "toggle", "settings", "delete"]


@st.composite
def edit_scenarios(draw) -> dict:
    """A model, and what a person does to it in the change form, as plain values."""
    spec = draw(model_specs())
    changes = {}
    for slug in spec["profiles"]:
        change = draw(st.sampled_from(PROFILE_CHANGES), label=f"{slug} change")
        new_settings = draw(industry_settings(industry_ids()[slug])) if change == "settings" else None
        changes[slug] = (change, new_settings)
    unused = sorted(set(industry_ids()) - set(spec["profiles"]))
    added = {}
    for slug in draw(st.lists(st.sampled_from(unused), max_size=1), label="added"):
        added[slug] = (draw(st.booleans()), draw(industry_settings(industry_ids()[slug])))
    field = st.sampled_from(sorted(BAD_INPUTS))
    return {
        "model": spec,
        "edits": draw(st.fixed_dictionaries({}, optional=EDITS), label="edits"),
        "provider": draw(st.sampled_from(["keep", "other"]), label="provider"),
        "successor": draw(st.sampled_from(["keep", "none", "peer"]), label="successor"),
        "profiles": changes,
        "added": added,
        "reason": draw(one_line, label="reason"),
        "invalid": draw(st.none() | field.flatmap(lambda f: st.tuples(st.just(f), BAD_INPUTS[f])), label="invalid"),
    }


def scenario(profiles: dict, changes: dict, **overrides) -> dict:
    """An explicit edit scenario: the model's profiles and what happens to each."""
    return {
        "model": {"name": "n-explicit", "fields": {}, "profiles": profiles},
        "edits": {},
        "provider": "keep",
        "successor": "keep",
        "profiles": changes,
        "added": {},
        "reason": "",
        "invalid": None,
        **overrides,
    }


class TestAPostedEditIsStoredExactly(TestCase):
    """Property 7: Update Validation and Persistence.

    A valid edit posted through the change form is stored exactly as posted,
    with one audit entry per changed object (source admin, the editor, the reason given,
    exactly the fields that changed); an edit with any invalid value changes nothing at all."""

    # A profile changed in the same form: its entry must carry the reason too.
    @example(
        scenario(
            {"general": (True, {"personal_data_allowed": True})},
            {"general": ("toggle", None)},
            edits={"display_name": "Renamed"},
            reason="quarterly review",
        )
    )
    # A profile only switched off: its entry says "enabled", and its settings stay as stored.
    @example(
        scenario(
            {"general": (True, {"certifications": ["GDPR", "HIPAA"], "max_temperature": 1})},
            {"general": ("toggle", None)},
        )
    )
    # A profile left alone while the model changes: no entry, no rewrite.
    @example(
        scenario(
            {"general": (True, {"certifications": ["GDPR", "HIPAA"]})},
            {"general": ("keep", None)},
            edits={"display_name": "Renamed"},
        )
    )
    @given(edit_scenarios())
    def test_a_posted_edit_is_stored_exactly_or_not_at_all(self, plan):
        providers = [ProviderFactory(), ProviderFactory()]
        model = create_from_spec(plan["model"], provider=providers[0])
        peer = aimodel_create(actor=None, provider=providers[1], name="peer-model", aliases=["peer-alias"])
        editor = staff("editor")
        client = signed_in(editor)
        page = page_of(client.get(change_url(model.pk)))
        submitted = form_fields(page, FORM_ID)
        blank = form_fields(page, FORM_ID, template_prefix=PROFILES)

        edits = dict(plan["edits"])
        if plan["provider"] == "other":
            edits["provider"] = providers[1].pk
        if plan["successor"] != "keep":
            edits["successor"] = peer.pk if plan["successor"] == "peer" else None
        for name, value in edits.items():
            submitted[name] = encode_field(name, value)
        submitted["change_reason"] = [plan["reason"]]
        before = whole_state(model.pk)
        expected_profiles = dict(before["profiles"])
        for slug, (change, new_settings) in plan["profiles"].items():
            industry = industry_ids()[slug]
            index = profile_index(submitted, industry)
            enabled, settings = expected_profiles[industry]
            if change == "delete":
                submitted[f"{PROFILES}-{index}-DELETE"] = ["on"]
                del expected_profiles[industry]
                continue
            if change == "toggle":
                expected_profiles[industry] = (not enabled, settings)
            elif change == "settings":
                expected_profiles[industry] = (enabled, new_settings)
            if change != "keep":
                set_profile(submitted, index, industry, *expected_profiles[industry], blank=blank)
        for slug, (enabled, settings) in plan["added"].items():
            industry = industry_ids()[slug]
            index = add_profile_form(submitted, blank)
            set_profile(submitted, index, industry, enabled, settings, blank=blank)
            expected_profiles[industry] = (enabled, settings)
        if plan["invalid"] is not None:
            invalid, bad = plan["invalid"]
            if invalid == "successor":
                aimodel_update(model=peer, actor=None, successor=model)
                before = whole_state(model.pk)
            submitted[invalid] = [bad_text(bad, model=model, peer=peer)]

        response = client.post(change_url(model.pk), post_data(submitted))

        if plan["invalid"] is not None:
            assert response.status_code == 200
            assert invalid in response.context["adminform"].form.errors
            assert whole_state(model.pk) == before
            return
        assert response.status_code == 302, form_errors(response)
        assert response["Location"] == CHANGELIST
        expected = {**before["values"], **edits}
        expected["capabilities"] = sorted(set(expected["capabilities"]))
        after = whole_state(model.pk)
        assert after["values"] == expected
        assert canonical_profiles(after["profiles"]) == canonical_profiles(expected_profiles)
        assert after["names"] == sorted({expected["name"].lower(), *(a.lower() for a in expected["aliases"])})

        changed_fields = {name for name in expected if expected[name] != before["values"][name]}
        entries = audit_entries_after(before["audit"])
        model_entries = [e for e in entries if e.object_type == "aimodel"]
        profiles_changed = canonical_profiles(before["profiles"]) != canonical_profiles(expected_profiles)
        # The version covers the model and its parts (issue 10, item 2).
        assert after["version"] == before["version"] + (1 if changed_fields or profiles_changed else 0)
        if changed_fields:
            (entry,) = model_entries
            assert (entry.action, entry.object_id) == (AuditAction.UPDATE, str(model.pk))
            assert set(entry.changes) == changed_fields
            assert AIModel.objects.get(pk=model.pk).updated_by == editor.username
        else:
            assert model_entries == []
        old, new = canonical_profiles(before["profiles"]), canonical_profiles(expected_profiles)
        expected_profile_actions = sorted(
            [(AuditAction.DELETE, i) for i in old if i not in new]
            + [(AuditAction.CREATE, i) for i in new if i not in old]
            + [(AuditAction.UPDATE, i) for i in new if i in old and new[i] != old[i]]
        )
        profile_ids = dict(  # profile id -> industry id, deleted profiles included
            ModelIndustryProfile.history.model.objects.filter(model_id=model.pk).values_list("id", "industry_id")
        )
        shown_profile_actions = sorted(
            (e.action, profile_ids[int(e.object_id)]) for e in entries if e.object_type == "modelindustryprofile"
        )
        assert shown_profile_actions == expected_profile_actions
        for entry in entries:
            if entry.object_type == "modelindustryprofile" and entry.action == AuditAction.UPDATE:
                industry = profile_ids[int(entry.object_id)]
                (was_enabled, was), (now_enabled, now) = old[industry], new[industry]
                expected_changes = {"enabled"} if was_enabled != now_enabled else set()
                assert set(entry.changes) == expected_changes | ({"settings"} if was != now else set())
        assert {e.object_type for e in entries} <= {"aimodel", "modelindustryprofile"}
        for entry in entries:
            assert (entry.source, entry.username, entry.user_id) == (ChangeSource.ADMIN, editor.username, editor.pk)
        if entries:
            assert len({entry.request_id for entry in entries}) == 1
        # The catalog version moves exactly when something changed.
        assert (after["catalog"] > before["catalog"]) == bool(entries)
        reason = plan["reason"]
        assert [(e.object_type, e.reason) for e in entries] == [(e.object_type, reason) for e in entries]


# =====================================================================================
# Property 10: Error Handling and Recovery
# =====================================================================================


class TestARejectedFormKeepsWhatWasTyped(TestCase):
    """Property 10: Error Handling and Recovery.

    A rejected form comes back with an error on exactly each bad field (in
    the model form and in the industry profiles), every value the person submitted still
    in the form, and nothing stored or audited."""

    @given(st.data())
    def test_a_rejected_form_keeps_what_was_typed_and_names_exactly_the_bad_fields(self, data):
        provider = ProviderFactory()
        model = draw_model(data, provider=provider)
        peer = aimodel_create(actor=None, provider=provider, name="peer-model", aliases=["peer-alias"])
        client = signed_in(staff("editor"))
        page = page_of(client.get(change_url(model.pk)))
        submitted = form_fields(page, FORM_ID)

        bad_fields = data.draw(st.sets(st.sampled_from(sorted(BAD_INPUTS)), max_size=4), label="bad fields")
        if "successor" in bad_fields:
            aimodel_update(model=peer, actor=None, successor=model)
        for name in sorted(bad_fields):
            submitted[name] = [bad_text(data.draw(BAD_INPUTS[name], label=name), model=model, peer=peer)]
        free = sorted({"display_name", "description", "status", "capabilities"} - bad_fields)
        for name, value in data.draw(st.fixed_dictionaries({}, optional={n: EDITS[n] for n in free})).items():
            submitted[name] = encode_field(name, value)
        submitted["change_reason"] = [data.draw(one_line, label="reason")]

        bad_settings: dict[int, set[str]] = {}
        for industry in sorted(stored_profiles(model.pk)):
            index = profile_index(submitted, industry)
            breakable = sorted(set(BAD_SETTINGS) & set(industry_schemas()[industry]["properties"]))
            broken = data.draw(st.sets(st.sampled_from(breakable), max_size=2), label="bad settings")
            for name in broken:
                submitted[f"{PROFILES}-{index}-setting__{name}"] = [data.draw(st.sampled_from(BAD_SETTINGS[name]))]
            bad_settings[index] = broken
        if data.draw(st.booleans(), label="add a bad profile"):
            unused = sorted(set(industry_schemas()) - set(stored_profiles(model.pk)))
            industry = data.draw(st.sampled_from(unused))
            blank = form_fields(page, FORM_ID, template_prefix=PROFILES)
            index = add_profile_form(submitted, blank)
            set_profile(submitted, index, industry, True, {}, blank=blank)
            submitted[f"{PROFILES}-{index}-setting__max_temperature"] = ["2.5"]
            bad_settings[index] = {"max_temperature"}
        assume(bad_fields or any(bad_settings.values()))
        before = whole_state(model.pk)

        response = client.post(change_url(model.pk), post_data(submitted))

        assert response.status_code == 200
        form = response.context["adminform"].form
        assert set(form.errors) == bad_fields, form_errors(response)
        (profiles_formset,) = [
            inline.formset for inline in response.context["inline_admin_formsets"] if inline.formset.prefix == PROFILES
        ]
        shown_errors = {index: set(f.errors) for index, f in enumerate(profiles_formset.forms) if f.errors}
        assert shown_errors == {
            index: {f"setting__{n}" for n in names} for index, names in bad_settings.items() if names
        }
        assert not profiles_formset.non_form_errors()
        for messages in form.errors.values():
            for message in messages:
                assert escape(message) in response.content.decode()

        kept = form_fields(page_of(response), FORM_ID)
        kept.pop("csrfmiddlewaretoken"), submitted.pop("csrfmiddlewaretoken")
        assert kept == {name: values for name, values in submitted.items() if values}
        assert whole_state(model.pk) == before


class TestEditFormEdges(TestCase):
    """Values the API stores that the admin form must show and give back unchanged."""

    def test_a_use_case_containing_a_comma_survives_an_unchanged_save(self):
        finance = Industry.objects.get(slug="finance")
        use_cases = ["summaries, translations", "customer support"]
        model = aimodel_create(
            actor=None,
            provider=ProviderFactory(),
            name="n-comma",
            industries=[ProfileInput(industry=finance, settings={"approved_use_cases": use_cases, "notes": "x"})],
        )
        client = signed_in(staff("editor"))
        submitted = form_fields(page_of(client.get(change_url(model.pk))), FORM_ID)
        submitted[f"{PROFILES}-0-setting__notes"] = ["changed note"]

        response = client.post(change_url(model.pk), post_data(submitted))

        assert response.status_code == 302, form_errors(response)
        (profile,) = ModelIndustryProfile.objects.filter(model=model)
        assert profile.settings == {"approved_use_cases": use_cases, "notes": "changed note"}

    def test_an_empty_list_setting_survives_an_unchanged_save(self):
        general = Industry.objects.get(slug="general")
        settings = {"data_residency": [], "personal_data_allowed": False}
        model = aimodel_create(
            actor=None,
            provider=ProviderFactory(),
            name="n-empty-list",
            industries=[ProfileInput(industry=general, settings=settings)],
        )
        client = signed_in(staff("editor"))
        submitted = form_fields(page_of(client.get(change_url(model.pk))), FORM_ID)
        submitted[f"{PROFILES}-0-setting__personal_data_allowed"] = ["true"]

        response = client.post(change_url(model.pk), post_data(submitted))

        assert response.status_code == 302, form_errors(response)
        (profile,) = ModelIndustryProfile.objects.filter(model=model)
        assert profile.settings == {"data_residency": [], "personal_data_allowed": True}

    def test_an_edit_after_someone_elses_save_is_refused_and_shows_their_change(self):
        model = aimodel_create(actor=None, provider=ProviderFactory(), name="n-race", display_name="Before")
        client = signed_in(staff("editor"))
        submitted = form_fields(page_of(client.get(change_url(model.pk))), FORM_ID)
        other = staff("editor")
        aimodel_update(model=model, actor=other, display_name="Theirs")
        submitted["display_name"] = ["Mine"]
        before = whole_state(model.pk)

        response = client.post(change_url(model.pk), post_data(submitted))

        assert response.status_code == 200
        errors = response.context["adminform"].form.non_field_errors()
        assert any("Someone else saved this model" in error for error in errors)
        assert any(other.username in error and "display_name: 'Before' → 'Theirs'" in error for error in errors)
        assert form_fields(page_of(response), FORM_ID)["display_name"] == ["Mine"]
        assert whole_state(model.pk) == before  # the audit log and the catalog version included
        assert not LogEntry.objects.filter(object_id=str(model.pk)).exists()

    def test_the_settings_of_all_profiles_over_their_budget_are_refused_on_the_profiles(self):
        general, retail = Industry.objects.get(slug="general"), Industry.objects.get(slug="retail")
        model = aimodel_create(actor=None, provider=ProviderFactory(), name="n-budget", display_name="Before")
        client = signed_in(staff("editor"))
        page = page_of(client.get(change_url(model.pk)))
        submitted = form_fields(page, FORM_ID)
        blank = form_fields(page, FORM_ID, template_prefix=PROFILES)
        notes = "n" * (PROFILES_SETTINGS_MAX_BYTES // 2)  # each profile's settings within its own limit
        for industry in (general, retail):
            set_profile(submitted, add_profile_form(submitted, blank), industry.pk, True, {"notes": notes}, blank=blank)
        submitted["display_name"] = ["Mine"]
        before = whole_state(model.pk)

        response = client.post(change_url(model.pk), post_data(submitted))

        assert response.status_code == 200
        (profiles,) = [
            inline.formset for inline in response.context["inline_admin_formsets"] if inline.formset.prefix == PROFILES
        ]
        size = 2 * json_size({"notes": notes})
        assert list(profiles.non_form_errors()) == [
            f"Ensure the settings of all profiles take at most {PROFILES_SETTINGS_MAX_BYTES:,} bytes together "
            f"(they take {size:,})."
        ]
        assert not response.context["adminform"].form.errors
        assert form_fields(page_of(response), FORM_ID)["display_name"] == ["Mine"]
        assert whole_state(model.pk) == before
        assert not LogEntry.objects.filter(object_id=str(model.pk)).exists()

    def test_a_save_the_service_refuses_each_time_is_not_saved_and_says_why_never_a_server_error(self):
        """The form passed, the service refused at write time, and again after the form was
        validated once more (a race lost twice, or a rule only the service knows)."""
        model = aimodel_create(actor=None, provider=ProviderFactory(), name="n-refused", display_name="Before")
        client = signed_in(staff("editor"))
        submitted = form_fields(page_of(client.get(change_url(model.pk))), FORM_ID)
        submitted["display_name"] = ["Mine"]
        before = whole_state(model.pk)
        refusal = ValidationError({"name": "A model with this name already exists."})

        with mock.patch("models_registry.admin.aimodels.aimodel_update", side_effect=refusal) as update:
            response = client.post(change_url(model.pk), post_data(submitted))

        assert update.call_count == 2
        assert response.status_code == 302 and response["Location"] == change_url(model.pk)
        shown = client.get(response["Location"])
        assert [str(m) for m in shown.context["messages"]] == ["Not saved: A model with this name already exists."]
        assert whole_state(model.pk) == before
        assert not LogEntry.objects.filter(object_id=str(model.pk)).exists()
