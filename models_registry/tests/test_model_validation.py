"""What the registry accepts, what it refuses, and what it keeps (Property 3: Model Creation
Validation; Property 5: Model Persistence Round Trip; Property 9: Comprehensive Input
Validation). Names: test_name_uniqueness.py."""

import itertools
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from models_registry.models import AIModel, ModelIndustryProfile, RegisteredName
from models_registry.models.aimodels import (
    NAME_MAX_LENGTH,
    NAME_VALIDATOR,
    SUCCESSOR_CHAIN_LIMIT,
    successor_chain_problem,
)
from models_registry.models.base import RegistryModel
from models_registry.services import aimodel_create, aimodel_update
from models_registry.tests import strategies
from models_registry.tests.factories import AIModelFactory, ProviderFactory, profile
from models_registry.tests.pools import stored_state


class TestModelCreationValidation(TestCase):
    """Property 3: Model Creation Validation.

    Any invalid input is rejected with errors on exactly the invalid fields
    and nothing is stored; any valid input is stored."""

    @given(strategies.model_input(invalid_fields=strategies.some_invalid_fields))
    def test_invalid_input_is_rejected_field_by_field_and_nothing_is_stored(self, case):
        fields, invalid = case
        provider = ProviderFactory()
        before = stored_state()

        with pytest.raises(ValidationError) as caught:
            aimodel_create(actor=None, provider=provider, **fields)

        assert set(caught.value.message_dict) == set(invalid)
        assert stored_state() == before

    @given(strategies.model_input())
    def test_valid_input_is_stored(self, case):
        fields, _ = case
        provider = ProviderFactory()

        model = aimodel_create(actor=None, provider=provider, **fields)

        assert AIModel.objects.filter(pk=model.pk, name=fields["name"]).exists()


class TestPersistenceRoundTrip(TestCase):
    """Property 5: Model Persistence Round Trip.

    What is saved reads back identical (capabilities as a sorted set)."""

    @given(strategies.model_input())
    def test_saved_model_reads_back_identical(self, case):
        fields, _ = case
        provider = ProviderFactory()

        created = aimodel_create(actor=None, provider=provider, **fields)
        stored = AIModel.objects.get(pk=created.pk)

        for name, value in fields.items():
            if name == "capabilities":
                value = sorted(set(value))
            assert getattr(stored, name) == value, name
        assert stored.provider_id == provider.pk
        assert set(RegisteredName.objects.filter(model=stored).values_list("name", flat=True)) == {
            n.lower() for n in [fields["name"], *fields.get("aliases", [])]
        }

    @given(
        settings=st.fixed_dictionaries({}, optional={"max_temperature": st.floats(0, 2), "phi_allowed": st.booleans()})
    )
    def test_industry_profiles_read_back_identical(self, settings):
        model = AIModelFactory(industries=[profile("healthcare", **settings), profile("general", enabled=False)])

        stored = {p.industry.slug: (p.enabled, p.settings) for p in ModelIndustryProfile.objects.filter(model=model)}

        assert stored == {"healthcare": (True, settings), "general": (False, {})}


class TestEveryBadValueIsRefused(TestCase):
    """Property 9: Comprehensive Input Validation.

    Every field's bad values, and every cross-field rule, are refused with
    an error on the field concerned; nothing changes."""

    @given(st.sampled_from(sorted(strategies.INVALID_FIELDS)), st.data())
    def test_each_bad_field_value_is_refused_on_update_too(self, field, data):
        model = AIModelFactory()
        before = AIModel.objects.filter(pk=model.pk).values().get()

        with pytest.raises(ValidationError) as caught:
            aimodel_update(model=model, actor=None, **{field: data.draw(strategies.INVALID_FIELDS[field])})

        assert set(caught.value.message_dict) == {field}
        assert AIModel.objects.filter(pk=model.pk).values().get() == before

    def test_a_model_cannot_be_its_own_successor(self):
        model = AIModelFactory()

        with pytest.raises(ValidationError) as caught:
            aimodel_update(model=model, actor=None, successor=model)

        assert set(caught.value.message_dict) == {"successor"}

    @given(st.integers(2, 6))
    def test_successor_cycles_are_refused(self, length):
        chain = [AIModelFactory() for _ in range(length)]
        for model, successor in itertools.pairwise(chain):
            aimodel_update(model=model, actor=None, successor=successor)

        with pytest.raises(ValidationError) as caught:
            aimodel_update(model=chain[-1], actor=None, successor=chain[0])

        assert set(caught.value.message_dict) == {"successor"}
        assert AIModel.objects.get(pk=chain[-1].pk).successor_id is None

    @given(
        st.sampled_from(
            [
                {"max_temperature": 3},
                {"max_temperature": "hot"},
                {"unknown_rule": True},
                {"data_residency": ["mars"]},
                {"certifications": ["HIPAA", "HIPAA"]},
                {"phi_allowed": "yes"},
            ]
        )
    )
    def test_industry_settings_must_obey_the_industrys_rules(self, settings):
        provider = ProviderFactory()
        before = stored_state()

        with pytest.raises(ValidationError) as caught:
            aimodel_create(
                actor=None, provider=provider, name="n-model", industries=[profile("healthcare", **settings)]
            )

        assert set(caught.value.message_dict) == {"industries"}
        assert caught.value.message_dict["industries"][0].startswith("healthcare: ")
        assert stored_state() == before

    def test_an_industry_may_be_listed_once(self):
        provider = ProviderFactory()

        with pytest.raises(ValidationError) as caught:
            aimodel_create(
                actor=None, provider=provider, name="n-model", industries=[profile("finance"), profile("finance")]
            )

        assert set(caught.value.message_dict) == {"industries"}

    def test_read_only_fields_cannot_be_changed(self):
        model = AIModelFactory()

        with pytest.raises(ValidationError) as caught:
            aimodel_update(model=model, actor=None, created_by="mallory", version=99)

        assert set(caught.value.message_dict) == {"created_by", "version"}

    def test_costs_keep_ten_decimal_places_exactly(self):
        model = AIModelFactory(input_cost_per_million_tokens=Decimal("0.0046875"))

        assert AIModel.objects.get(pk=model.pk).input_cost_per_million_tokens == Decimal("0.0046875")


def test_sixteen_digit_prices_survive_storage_exactly_and_sort_as_numbers(db):
    high = AIModelFactory(input_cost_per_million_tokens=Decimal("999999.9999999999"))
    low = AIModelFactory(input_cost_per_million_tokens=Decimal("100000.0000000001"))

    stored = AIModel.objects.order_by("input_cost_per_million_tokens").values_list(
        "pk", "input_cost_per_million_tokens"
    )

    assert list(stored) == [(low.pk, Decimal("100000.0000000001")), (high.pk, Decimal("999999.9999999999"))]
    above = AIModel.objects.filter(input_cost_per_million_tokens__gt=Decimal("100000.0000000001"))
    assert list(above.values_list("pk", flat=True)) == [high.pk]


@given(st.integers(min_value=-(10**16) + 1, max_value=10**16 - 1))
def test_a_stored_price_is_written_as_the_decimal_it_stands_for(stored):
    field = AIModel._meta.get_field("input_cost_per_million_tokens")
    decimal = field.from_db_value(stored, None, None)

    text = field.stored_text(stored)

    assert text == format(decimal.normalize(), "f")  # plain notation, no trailing zeros


NOT_UNICODE = "Unpaired surrogate code points (U+D800 to U+DFFF) are not valid text."


@pytest.mark.parametrize(
    ("fields", "invalid"),
    [
        ({"description": "half a pair: \ud83d"}, "description"),
        ({"display_name": "\udc00"}, "display_name"),
        ({"metadata": {"note": "\ud800"}}, "metadata"),
        ({"metadata": {"\udfff": 1}}, "metadata"),
        ({"industries": [("retail", {"note": "\ud800"})]}, "industries"),
    ],
    ids=["description", "display_name", "metadata-value", "metadata-key", "profile-settings"],
)
def test_unpaired_surrogates_are_refused_on_the_field_and_nothing_is_stored(db, fields, invalid):
    # A JSON "\ud800" escape decodes to one; PostgreSQL cannot store it and no client could read it.
    if "industries" in fields:
        fields = {"industries": [profile(slug, **settings) for slug, settings in fields["industries"]]}
    provider = ProviderFactory()
    before = stored_state()

    with pytest.raises(ValidationError) as caught:
        aimodel_create(actor=None, name="m", provider=provider, **fields)

    messages = caught.value.message_dict[invalid]
    assert list(caught.value.message_dict) == [invalid]
    if invalid == "industries":  # (the industry's schema refuses the unknown setting too)
        assert messages[0] == f"retail: {NOT_UNICODE}"
    else:
        assert messages == [NOT_UNICODE]
    assert stored_state() == before


HIDDEN_IN_A_NAME = "Bidirectional control characters and zero-width characters are not allowed."


def nested(levels: int, innermost="x"):
    """`innermost` inside `levels` lists."""
    for _ in range(levels):
        innermost = [innermost]
    return innermost


# What a JSON value must be to be stored and served back, each refusal as a client reads it.
NOT_STORABLE_JSON = {
    "NUL in a value": ({"note": "NUL\x00"}, "Null characters are not allowed."),
    "NUL in a key": ({"\x00": 1}, "Null characters are not allowed."),
    "2**63": ({"n": 2**63}, "Numbers must be finite and within ±9.2e18."),
    "-2**63": ({"n": [-(2**63)]}, "Numbers must be finite and within ±9.2e18."),
    "infinity": ({"n": float("inf")}, "Numbers must be finite and within ±9.2e18."),
    "NaN": ({"n": float("nan")}, "Numbers must be finite and within ±9.2e18."),
    "65 levels": ({"deep": nested(64)}, "Nested deeper than 64 levels."),  # the "x" is at level 65
}  # fmt: skip


@pytest.mark.parametrize("case", list(NOT_STORABLE_JSON))
def test_json_that_cannot_be_stored_and_served_back_is_refused_saying_why(db, case):
    metadata, message = NOT_STORABLE_JSON[case]
    provider = ProviderFactory()
    before = stored_state()

    with pytest.raises(ValidationError) as refused:
        aimodel_create(actor=None, provider=provider, name="gpt-json", metadata=metadata)

    assert refused.value.message_dict == {"metadata": [message]}
    assert stored_state() == before


# The one text rule (docs/api.md, "Input rules"), each refusal as a client reads it.
NOT_TEXT = {
    "control character": ("description", "bell\x07", "Control characters are not allowed."),
    "space around a name": ("display_name", "GPT 4o\u3000", "Remove the whitespace at the start or end."),
    "hidden character in a name": ("display_name", "GPT\u200b4o", HIDDEN_IN_A_NAME),
}  # fmt: skip


@pytest.mark.parametrize("case", list(NOT_TEXT))
def test_text_that_breaks_the_text_rule_is_refused_saying_why(db, case):
    field, value, message = NOT_TEXT[case]
    provider = ProviderFactory()
    before = stored_state()

    with pytest.raises(ValidationError) as refused:
        aimodel_create(actor=None, provider=provider, name="gpt-text", **{field: value})

    assert refused.value.message_dict == {field: [message]}
    assert stored_state() == before


# Every text field that cannot be NULL, of every registry model: Django lets None through a
# blank field's validation, and the database refused it later, misreported (a name "taken
# by a concurrent change"), or a check after it failed on it (TypeError on a description).
NOT_NULL_TEXT = [
    (model_class, field.name)
    for model_class in apps.get_models()
    if issubclass(model_class, RegistryModel)
    for field in model_class._checked_fields()[0]
    if not field.null
]


@pytest.mark.parametrize(("model_class", "field"), NOT_NULL_TEXT, ids=lambda x: getattr(x, "__name__", x))
def test_none_in_a_text_field_that_cannot_be_null_is_refused_on_the_field(model_class, field):
    instance = model_class(**{field: None})

    with pytest.raises(ValidationError) as refused:
        instance.clean_fields()

    assert refused.value.message_dict[field] == ["This field cannot be null."]


# (A field that may not be blank refuses them by Django's own check.)
BLANK_TEXT = [(model_class, field) for model_class, field in NOT_NULL_TEXT if model_class._meta.get_field(field).blank]


@pytest.mark.parametrize(("model_class", "field"), BLANK_TEXT, ids=lambda x: getattr(x, "__name__", x))
@pytest.mark.parametrize("empty", [[], {}, ()], ids=["list", "dict", "tuple"])
def test_an_empty_list_or_dict_in_a_text_field_is_refused_on_the_field(model_class, field, empty):
    instance = model_class(**{field: empty})

    with pytest.raises(ValidationError) as refused:
        instance.clean_fields()

    assert refused.value.message_dict[field] == ["Enter text."]


@pytest.mark.parametrize("value", [None, []], ids=["None", "list"])
@pytest.mark.parametrize("field", ["display_name", "description"])
def test_a_text_field_that_is_not_text_is_refused_by_the_service_saying_so(db, field, value):
    provider = ProviderFactory()
    before = stored_state()

    with pytest.raises(ValidationError) as refused:
        aimodel_create(actor=None, provider=provider, name="gpt-none", **{field: value})

    assert refused.value.message_dict == {field: ["This field cannot be null." if value is None else "Enter text."]}
    assert stored_state() == before


def test_a_field_refused_by_its_own_check_is_not_judged_again_by_the_json_rule(db):
    """Django's checks of a field come first; the JSON rule does not replace their error."""
    provider = ProviderFactory()

    with pytest.raises(ValidationError) as refused:
        aimodel_create(actor=None, provider=provider, name="gpt-json", metadata={"k": "\x00" + "x" * 9000})

    assert refused.value.message_dict == {
        "metadata": ["Ensure this value takes at most 8192 bytes as JSON (it takes 9015)."]
    }


def test_the_text_fields_after_one_that_is_not_text_are_checked_too(db):
    provider = ProviderFactory()

    with pytest.raises(ValidationError) as refused:
        aimodel_create(actor=None, provider=provider, name="gpt-none", display_name=None, description="bell\x07")

    assert refused.value.message_dict == {
        "display_name": ["This field cannot be null."],
        "description": ["Control characters are not allowed."],
    }


def test_every_line_ending_is_stored_as_a_newline(db):
    model = aimodel_create(actor=None, provider=ProviderFactory(), name="gpt-text", description="dos\r\nmac\runix\n")

    assert model.description == AIModel.objects.get(pk=model.pk).description == "dos\nmac\nunix\n"


def test_a_field_is_checked_by_the_text_and_json_rules_after_another_field_failed(db):
    """Every bad field is named at once, whichever field failed first: here the name and the
    metadata fail Django's own checks, before the text and JSON rules look at the fields
    after them."""
    provider = ProviderFactory()

    with pytest.raises(ValidationError) as refused:
        aimodel_create(
            actor=None, provider=provider, name="-gpt", description="bell\x07",
            metadata={"k": "x" * 9000}, aliases=["ok\x00"],
        )  # fmt: skip

    errors = refused.value.message_dict
    assert set(errors) == {"name", "description", "metadata", "aliases"}
    assert errors["description"] == ["Control characters are not allowed."]
    assert errors["aliases"][0] == "Null characters are not allowed."  # (then the name rule's)


def test_json_at_the_edges_of_the_rule_is_stored_as_sent(db):
    metadata = {
        "deep": nested(63),  # the "x" at level 64, the deepest allowed
        "largest": 2**63 - 1,
        "smallest": -(2**63) + 1,
        "plain": [True, False, None, 1.5, "é😀\t"],
    }

    model = aimodel_create(actor=None, provider=ProviderFactory(), name="gpt-json", metadata=metadata)

    assert AIModel.objects.get(pk=model.pk).metadata == metadata


def test_a_successor_leading_into_a_cycle_elsewhere_is_a_cycle():
    """The successor rule as the importer applies it to a file's rows, whose successors may
    already loop among themselves (b and c here) without passing through the row checked."""
    successors = {"b": "c", "c": "b"}

    assert successor_chain_problem("a", "b", successors.get) == "This successor would make a cycle of successors."


def test_a_successor_chain_without_end_is_refused_as_too_long():
    assert successor_chain_problem(0, 1, lambda key: key + 1) == "The successor chain is too long."
    assert successor_chain_problem(0, 1, lambda key: key + 1 if key < SUCCESSOR_CHAIN_LIMIT - 1 else None) is None


@pytest.mark.parametrize(
    "capabilities", ["vision", ["vision", 1], {"vision": True}], ids=["text", "a-number-in-it", "object"]
)
def test_capabilities_that_are_not_a_list_of_names_are_refused_saying_so(db, capabilities):
    with pytest.raises(ValidationError) as refused:
        aimodel_create(actor=None, provider=ProviderFactory(), name="gpt-caps", capabilities=capabilities)

    assert refused.value.message_dict == {"capabilities": ["Must be a list of capability names."]}


@pytest.mark.parametrize("aliases", ["gpt-x", ["gpt-x", 1], {"gpt-x": True}], ids=["text", "a-number-in-it", "object"])
def test_aliases_that_are_not_a_list_of_names_are_refused_saying_so(db, aliases):
    with pytest.raises(ValidationError) as refused:
        aimodel_create(actor=None, provider=ProviderFactory(), name="gpt-aliases", aliases=aliases)

    assert refused.value.message_dict == {"aliases": ["Must be a list of names."]}


def test_an_alias_too_long_is_refused_for_its_length_and_one_at_the_length_for_its_characters(db):
    longest = NAME_MAX_LENGTH
    too_long, bad_at_the_limit = "a" * (longest + 1), "a b" + "c" * (longest - 3)

    with pytest.raises(ValidationError) as refused:
        aimodel_create(actor=None, provider=ProviderFactory(), name="gpt-aliases", aliases=[too_long, bad_at_the_limit])

    assert refused.value.message_dict == {
        "aliases": [f"{too_long!r}: at most {longest} characters.", f"{bad_at_the_limit!r}: {NAME_VALIDATOR.message}"]
    }


def test_a_model_made_its_own_successor_is_refused_saying_so(db):
    model = AIModelFactory()

    with pytest.raises(ValidationError) as refused:
        aimodel_update(model=model, actor=None, successor=model)

    assert refused.value.message_dict == {"successor": ["A model cannot be its own successor."]}


def test_a_successor_that_closes_a_cycle_is_refused_saying_so(db):
    newer = AIModelFactory()
    older = AIModelFactory(successor=newer)

    with pytest.raises(ValidationError) as refused:
        aimodel_update(model=newer, actor=None, successor=older)

    assert refused.value.message_dict == {"successor": ["This successor would make a cycle of successors."]}
