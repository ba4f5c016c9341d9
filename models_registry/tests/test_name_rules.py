"""The model name rule, character by character (docs/contract.md, "name": 1-200 chars,
`^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$`, no trailing newline).

The rule lives once (NAME_REGEX in models_registry/models/aimodels.py) and reaches every door
through the model's validation and `is_name`; these tests pin the set of characters it takes,
so that loosening it (e.g. to let `#!$%&*` through, docs/mutation.md) fails a test. The
expected sets are written out here, not derived from the pattern.
"""

import string

import pytest
from django.core.exceptions import ValidationError

from models_registry.models import AIModel
from models_registry.models.aimodels import NAME_MAX_LENGTH, is_name
from models_registry.tests.factories import ProviderFactory

pytestmark = pytest.mark.django_db

ALLOWED_AFTER_THE_FIRST = "._:/@+-"
# Every other printable ASCII character, the whitespace a pasted name brings, and letters and
# digits outside ASCII (the Kelvin sign and the long s fold to k and s: they must not pass as
# letters; a fullwidth digit is a digit to Unicode, not to the rule).
REFUSED = [
    *sorted(set(string.punctuation + " \t\n\r\x0b\x0c") - set(ALLOWED_AFTER_THE_FIRST)),
    *["\x00", "é", "\u212a", "\u017f", "\uff11"],
]


def name_errors(name: str) -> list[str]:
    model = AIModel(name=name, provider=ProviderFactory())
    try:
        model.full_clean()
    except ValidationError as error:
        assert set(error.message_dict) == {"name"}, error.message_dict  # only the name is wrong
        return error.message_dict["name"]
    return []


def codepoint(character: str) -> str:
    return f"U+{ord(character):04X}"  # an id pytest can select (no brackets, no control characters)


@pytest.mark.parametrize("character", REFUSED, ids=codepoint)
def test_a_name_with_any_other_character_inside_is_refused(character):
    name = f"gpt{character}4"

    assert name_errors(name)
    assert not is_name(name)


@pytest.mark.parametrize("character", REFUSED + list(ALLOWED_AFTER_THE_FIRST), ids=codepoint)
def test_a_name_starts_with_a_letter_or_a_digit(character):
    name = f"{character}gpt"

    assert name_errors(name)
    assert not is_name(name)


@pytest.mark.parametrize("first", string.ascii_letters + string.digits)
def test_any_ascii_letter_or_digit_may_start_a_name_alone(first):
    assert name_errors(first) == []
    assert is_name(first)


def test_letters_digits_and_the_listed_punctuation_may_follow():
    name = "a" + string.ascii_letters + string.digits + ALLOWED_AFTER_THE_FIRST

    assert name_errors(name) == []
    assert is_name(name)


@pytest.mark.parametrize("name", ["gpt\n", "gpt\r\n", "gpt "], ids=["newline", "crlf", "space"])
def test_nothing_may_trail_a_name(name):
    assert name_errors(name)
    assert not is_name(name)


def test_a_name_is_one_to_two_hundred_characters():
    longest = "n" * NAME_MAX_LENGTH

    assert NAME_MAX_LENGTH == 200
    assert name_errors(longest) == [] and is_name(longest)
    assert name_errors(longest + "n") and not is_name(longest + "n")
    assert name_errors("") and not is_name("")


@pytest.mark.parametrize("character", REFUSED, ids=codepoint)
def test_an_alias_follows_the_same_rule(character):
    model = AIModel(name="gpt-4", provider=ProviderFactory(), aliases=[f"gpt{character}4"])

    with pytest.raises(ValidationError) as caught:
        model.full_clean()

    assert set(caught.value.message_dict) == {"aliases"}
