"""Properties 3 and 9 with any value: every writable field of a model, given any text or
any JSON value, is stored and read back when the contract allows the value, and refused
with an error on exactly that field, nothing stored, when it does not.

The fields come from the API's serializer (every writable one), so a new field fails
`test_every_writable_field_has_a_rule` until a rule for it is written here. The rules
below are a plain reading of docs/contract.md §1 and docs/api.md "Input rules", written
out again on purpose: they do not call the code they judge.
"""

import datetime
import json
import re
from decimal import Decimal

import jsonschema
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.test import Client, override_settings
from hypothesis import event, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from accounts.services import api_token_create
from audit.models import AuditEntry
from models_registry.api.serializers import AIModelSerializer
from models_registry.models import AIModel, Industry
from models_registry.services import aimodel_create
from models_registry.tests.contract_words import CAPABILITIES, MODEL_TYPES, STATUSES
from models_registry.tests.factories import AIModelFactory, ProviderFactory

# --- the contract, read plainly ------------------------------------------------------------

# (The contract's words, copied as written: docs/contract.md §1.)
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}")
CONTROL = {chr(code) for code in range(0x20)} - {"\t", "\n", "\r"}  # "\r" is stored as "\n"
INVISIBLE = set(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u200c\u200d\u2060\ufeff"
)
INTEGER_TEXT = re.compile(r"-?[0-9]+")
DECIMAL_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]{1,4})?")
DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
KIB = 1024

# What every example's registry holds besides the model being written.
PROVIDER = "acme"
OTHER_MODEL = "next-model"  # a name taken, and the one possible successor
BASE = {"name": "base-model", "provider": PROVIDER}


def is_text(value) -> bool:
    """Text a field can hold: no control characters (tab and newline aside), no lone surrogate."""
    return isinstance(value, str) and not any(c in CONTROL or "\ud800" <= c <= "\udfff" for c in value)


def stored_text(value: str) -> str:
    return value.replace("\r\n", "\n").replace("\r", "\n")


def is_label(value) -> bool:
    """A name people read: text with no whitespace around it and nothing invisible in it."""
    if not is_text(value):
        return False
    value = stored_text(value)
    return not (value and (value[0].isspace() or value[-1].isspace())) and not INVISIBLE & set(value)


def is_name(value) -> bool:
    return isinstance(value, str) and NAME.fullmatch(value) is not None


def as_integer(value):
    """The integer a JSON value stands for, or None (docs/api.md, "Integers")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and INTEGER_TEXT.fullmatch(value) and len(value) <= 100:
        return int(value)
    return None


def as_decimal(value):
    """The decimal a JSON value stands for, or None (docs/api.md, "Decimals")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return Decimal(repr(value))
    if isinstance(value, str) and DECIMAL_TEXT.fullmatch(value) and len(value) <= 100:
        return Decimal(value)
    return None


def as_date(value):
    if not isinstance(value, str) or not DATE_TEXT.fullmatch(value):
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        return None


def storable_json(value, depth: int = 0) -> bool:
    """JSON the database keeps and serves back: no NUL, no lone surrogate, numbers within
    64 bits, at most 64 levels deep (docs/api.md, "Limits")."""
    if depth > 64:
        return False
    if isinstance(value, str):
        return "\x00" not in value and not any("\ud800" <= c <= "\udfff" for c in value)
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int | float):
        return abs(value) < 2**63
    if isinstance(value, dict):
        return all(storable_json(item, depth + 1) for item in [*value, *value.values()])
    return all(storable_json(item, depth + 1) for item in value)


def json_bytes(value) -> int:
    """The length of `value` as the longest JSON text a supported database writes for it:
    non-ASCII escaped, ", " and ": " between items, numbers in positional notation (the
    measure docs/api.md "Limits" states)."""
    if isinstance(value, float):
        return max(len(json.dumps(value)), len(format(Decimal(repr(value)), "f")))
    if isinstance(value, dict):
        items = [json_bytes(key) + 2 + json_bytes(item) for key, item in value.items()]
    elif isinstance(value, list):
        items = [json_bytes(item) for item in value]
    else:
        return len(json.dumps(value))
    return 2 + sum(items) + 2 * max(0, len(items) - 1)


def cost_ok(value) -> bool:
    if value is None:
        return True
    number = as_decimal(value)
    if number is None or not number.is_finite() or not 0 <= number < 1_000_000:
        return False
    return -min(0, number.normalize().as_tuple().exponent) <= 10


def range_ok(low: int, high: int):
    def check(value) -> bool:
        if value is None:
            return True
        number = as_integer(value)
        return number is not None and low <= number <= high

    return check


def aliases_ok(value, name: str) -> bool:
    if not isinstance(value, list) or len(value) > 32 or not all(is_name(alias) for alias in value):
        return False
    folded = [alias.lower() for alias in value]
    return len(set(folded)) == len(folded) and not {name.lower(), OTHER_MODEL} & set(folded)


def profiles_ok(value) -> bool:
    """At most one profile per industry; each settings object passes that industry's rules."""
    if not isinstance(value, list) or len(value) > 16:
        return False
    schemas = dict(Industry.objects.values_list("slug", "settings_schema"))
    seen, total = set(), 0
    for item in value:
        if not isinstance(item, dict) or set(item) - {"industry", "enabled", "settings"}:
            return False
        slug, settings = item.get("industry"), item.get("settings", {})
        if (
            not isinstance(slug, str)
            or slug not in schemas
            or slug in seen
            or not isinstance(item.get("enabled", True), bool)
        ):
            return False
        if not isinstance(settings, dict) or not storable_json(settings) or json_bytes(settings) > 2 * KIB:
            return False
        if not jsonschema.Draft202012Validator(schemas[slug]).is_valid(settings):
            return False
        seen.add(slug)
        total += json_bytes(settings)
    return total <= 2 * KIB


# field -> whether the contract allows the JSON value (the rest of the model being BASE).
RULES = {
    "name": lambda v: is_name(v) and v.lower() != OTHER_MODEL,
    "display_name": lambda v: is_label(v) and len(v) <= 200,
    "provider": lambda v: v == PROVIDER,
    "model_type": lambda v: v in MODEL_TYPES if isinstance(v, str) else False,
    "capabilities": lambda v: isinstance(v, list) and all(isinstance(c, str) and c in CAPABILITIES for c in v),
    "context_window": range_ok(1, 100_000_000),
    "max_output_tokens": range_ok(0, 100_000_000),
    "input_cost_per_million_tokens": cost_ok,
    "output_cost_per_million_tokens": cost_ok,
    "status": lambda v: v in STATUSES if isinstance(v, str) else False,
    "deprecation_date": lambda v: v is None or as_date(v) is not None,
    "sunset_date": lambda v: v is None or as_date(v) is not None,  # (no deprecation date to precede)
    "successor": lambda v: v is None or (isinstance(v, str) and v.lower() == OTHER_MODEL),
    # One budget of 8 KiB for description, metadata and aliases together; here the others are tiny.
    "description": lambda v: is_text(v) and len(v) <= 4000 and len(v.encode("utf-8", "surrogatepass")) + 4 <= 8 * KIB,
    "industries": profiles_ok,
    "metadata": lambda v: isinstance(v, dict) and storable_json(v) and json_bytes(v) + 2 <= 8 * KIB,
    "aliases": lambda v: aliases_ok(v, BASE["name"]),
}


def read_back(field: str, sent):
    """What a GET returns for an accepted value."""
    if field in ("name", "display_name", "description"):
        return stored_text(sent)
    if field == "capabilities":
        return sorted(set(sent))
    if field in ("context_window", "max_output_tokens"):
        return as_integer(sent) if sent is not None else None
    if field == "successor":
        return OTHER_MODEL if sent is not None else None
    if field.endswith("_cost_per_million_tokens"):
        return as_decimal(sent) if sent is not None else None
    if field == "industries":
        return sorted((p["industry"], p.get("enabled", True), p.get("settings", {})) for p in sent)
    return sent


def as_returned(field: str, value):
    if field == "industries":
        return sorted((p["industry"], p["enabled"], p["settings"]) for p in value)
    if field.endswith("_cost_per_million_tokens") and value is not None:
        return Decimal(value)
    return value


# --- any value -----------------------------------------------------------------------------

ODD = "\x00\x01\x07\x1b\x7f\t\n\r\x85\xa0\u2028\u202e\u200b\ufeff\ud800\udfff é😀 aZ09-_.:/@+"
any_character = st.characters(exclude_categories=())  # surrogates and controls included
printable = st.text(st.characters(exclude_categories=["Cc", "Cs", "Zs", "Zl", "Zp", "Cf"]), min_size=1, max_size=10)
any_text = st.one_of(
    st.text(any_character, max_size=30),
    st.text(st.sampled_from(ODD), max_size=12),
    st.tuples(printable, st.sampled_from(ODD), printable).map("".join),  # one odd character inside
    st.tuples(st.sampled_from("xé😀"), st.sampled_from([200, 201, 2700, 4000, 4001, 9000])).map(lambda p: p[0] * p[1]),
)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(-(2**64), 2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | any_text
)
any_json = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=12,
)

name_like = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,30}\Z") | st.sampled_from(["Next-Model", "a" * 201])
decimal_text = st.decimals(allow_nan=False, allow_infinity=False).map(lambda d: format(d.normalize(), "f"))
cost_like = st.decimals(-1, 1_000_001, allow_nan=False).map(lambda d: format(d.normalize(), "f")) | decimal_text
slugs = st.sampled_from(["general", "healthcare", "finance", "legal", "retail", "nowhere"])
settings_like = st.fixed_dictionaries(
    {}, optional={"max_temperature": st.floats(-1, 3) | any_json, "phi_allowed": st.booleans() | any_json}
)
profile_like = st.fixed_dictionaries(
    {"industry": slugs | any_json}, optional={"enabled": st.booleans() | any_json, "settings": settings_like}
)

# Per field: any JSON value, and values near the field's own (so the valid side is reached too).
NEAR = {
    "name": name_like,
    "display_name": any_text,
    "provider": st.sampled_from([PROVIDER, "ACME", "acme-2", ""]),
    "model_type": st.sampled_from([*sorted(MODEL_TYPES), "CHAT", "image generation"]),
    "capabilities": st.lists(st.sampled_from(sorted(CAPABILITIES)) | any_text, max_size=5),
    "context_window": st.integers(-2, 100_000_002) | st.integers(-2, 10).map(str) | st.floats(-2, 1e9),
    "max_output_tokens": st.integers(-2, 100_000_002) | st.sampled_from(["12", "1e3", "+1", "\uff11\uff12", 12.5]),
    "input_cost_per_million_tokens": cost_like | st.floats(-1, 2e6),
    "output_cost_per_million_tokens": cost_like | st.sampled_from(["1_000", ".5", "NaN", "0.00000000001"]),
    "status": st.sampled_from([*sorted(STATUSES), "ACTIVE", "retired"]),
    "deprecation_date": st.dates().map(str) | st.sampled_from(["2026-1-1", "20260101", "2026-02-30"]),
    "sunset_date": st.dates().map(str) | st.sampled_from(["2026-13-01", "0000-01-01"]),
    "successor": st.sampled_from([OTHER_MODEL, "NEXT-MODEL", "base-model", "no-such-model"]),
    "description": any_text,
    "industries": st.lists(profile_like, max_size=3),
    "metadata": st.dictionaries(any_text, any_json, max_size=4),
    "aliases": st.lists(name_like | any_text, max_size=4),
}
WRITABLE = [name for name, field in AIModelSerializer().fields.items() if not field.read_only]


# One value per rule, on each side of it, tried first on every run (random draws reach
# each of them only now and then).
EDGES = [
    ("name", "amazon.nova-lite-v1:0"), ("name", "NEXT-MODEL"), ("name", "n" * 201), ("name", "n\n"),
    ("display_name", "Ünïcode 😀\tname"), ("display_name", "\ufeff"), ("display_name", "rtl\u202eo"),
    ("display_name", "\xa0lead"), ("display_name", "trail\u2028"), ("display_name", "nul\x00"),
    ("description", "line\r\nend\ttab"), ("description", "bell\x07"), ("description", "half \ud800"),
    ("description", "x" * 4001), ("description", "😀" * 2100), ("capabilities", ["vision", "vision"]),
    ("capabilities", ["telepathy"]), ("capabilities", "vision"), ("context_window", 0), ("context_window", 12.0),
    ("context_window", True), ("max_output_tokens", "\uff11\uff12"), ("input_cost_per_million_tokens", "0.0046875"),
    ("input_cost_per_million_tokens", "0.00000000001"), ("output_cost_per_million_tokens", 1_000_000),
    ("deprecation_date", "2026-1-1"), ("sunset_date", "2026-02-30"), ("metadata", {"k": "\x00"}),
    ("metadata", {"n": 2**63}), ("metadata", {"\ud800": 1}), ("metadata", [1]), ("metadata", {"k": "x" * 9000}),
    ("aliases", ["Base-Model"]), ("aliases", ["a-1", "A-1"]), ("aliases", ["next-model"]), ("aliases", ["ok-1"]),
    ("industries", [{"industry": "healthcare", "settings": {"max_temperature": 3}}]),
    ("industries", [{"industry": "finance"}, {"industry": "finance"}]), ("successor", "base-model"),
]  # fmt: skip


def with_edges(test):
    for case in EDGES:
        test = example(case)(test)
    return test


def any_value(field: str):
    return st.one_of(any_json, NEAR[field])


def test_every_writable_field_has_a_rule():
    assert set(WRITABLE) == set(RULES) == set(NEAR)


def stored_state() -> tuple[int, int]:
    return AIModel.objects.count(), AuditEntry.objects.count()


# Hundreds of requests from one client: the rate limit is tested on its own.
@override_settings(REST_FRAMEWORK={**django_settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"client": None}})
class TestAnyValueThroughTheApi(TestCase):
    """POST /api/v1/models with one field set to any JSON value, the rest valid."""

    def setUp(self):
        editor = get_user_model().objects.create_user("editor", password="correct horse battery staple")
        editor.groups.add(Group.objects.get(name="Model Editors"))
        _, self.key = api_token_create(user=editor)
        AIModelFactory(name=OTHER_MODEL, provider=ProviderFactory(slug=PROVIDER))
        self.client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {self.key}")

    @settings(max_examples=100, deadline=None)
    @with_edges
    @given(st.sampled_from(WRITABLE).flatmap(lambda field: st.tuples(st.just(field), any_value(field))))
    def test_a_value_is_stored_if_and_only_if_the_contract_allows_it(self, case):
        field, value = case
        # json.dumps writes "\ud800" as an escape, which is how a client sends a lone surrogate;
        # the server reads what the text says ("\ud800\udc00" escaped is one character, U+10000).
        text = json.dumps({**BASE, field: value})
        value = json.loads(text)[field]
        before = stored_state()

        response = self.client.post("/api/v1/models", text, content_type="application/json")

        allowed = RULES[field](value)
        event(f"{field}: {'allowed' if allowed else 'refused'}")
        if allowed:
            assert response.status_code == 201, (response.status_code, response.content[:500])
            shown = self.client.get(response["Location"]).json()
            assert as_returned(field, shown[field]) == read_back(field, value)
        else:
            assert response.status_code == 400, (response.status_code, response.content[:500])
            assert list(response.json()) == [field], response.json()
            assert stored_state() == before


# Through the service the value is a Python one of the field's type: any text for text and
# choice fields, any JSON for JSON fields, any integer, decimal or date.
SERVICE_VALUES = {
    "name": any_text | name_like,
    "display_name": any_text,
    "model_type": any_text | st.sampled_from(sorted(MODEL_TYPES)),
    "status": any_text | st.sampled_from(sorted(STATUSES)),
    "description": any_text,
    "capabilities": any_value("capabilities"),
    "metadata": any_value("metadata"),
    "aliases": any_value("aliases"),
    "context_window": st.none() | st.integers() | st.integers(-2, 100_000_002),
    "max_output_tokens": st.none() | st.integers() | st.integers(-2, 100_000_002),
    "input_cost_per_million_tokens": st.none()
    | st.decimals(allow_nan=False, allow_infinity=False).map(Decimal.normalize)
    | st.decimals(-1, 1_000_001, places=12).map(Decimal.normalize),
    "deprecation_date": st.none() | st.dates(),
}


def with_edges_for_the_service(test):
    typed = ("context_window", "max_output_tokens", "input_cost_per_million_tokens", "deprecation_date")
    for field, value in EDGES:
        if field in SERVICE_VALUES and field not in typed:  # (their edges are JSON, not Python, values)
            test = example((field, value))(test)
    return test


def service_rule(field: str, value) -> bool:
    if field.endswith("_date"):
        return True  # any date or none
    if isinstance(value, Decimal):
        return RULES[field](format(value, "f"))
    return RULES[field](value)


class TestAnyValueThroughTheService(TestCase):
    """aimodel_create (full_clean) with one field set to any value of its type."""

    def setUp(self):
        self.provider = ProviderFactory(slug=PROVIDER)
        AIModelFactory(name=OTHER_MODEL, provider=self.provider)

    @settings(max_examples=100, deadline=None)
    @with_edges_for_the_service
    @given(st.sampled_from(sorted(SERVICE_VALUES)).flatmap(lambda f: st.tuples(st.just(f), SERVICE_VALUES[f])))
    def test_a_value_is_stored_if_and_only_if_the_contract_allows_it(self, case):
        field, value = case
        before = stored_state()
        event(f"{field}: {'allowed' if service_rule(field, value) else 'refused'}")

        try:
            model = aimodel_create(actor=None, **{"name": BASE["name"], "provider": self.provider, field: value})
        except ValidationError as error:
            assert not service_rule(field, value), error.message_dict
            assert list(error.message_dict) == [field], error.message_dict
            assert stored_state() == before
            return
        assert service_rule(field, value), f"{field}={value!r} was stored"
        stored = getattr(AIModel.objects.get(pk=model.pk), field)
        expected = value if isinstance(value, Decimal | datetime.date) or value is None else read_back(field, value)
        assert stored == expected


def test_the_rules_read_the_contract_as_written():
    """The oracle itself, on values whose answer the contract states."""
    assert RULES["name"]("amazon.nova-lite-v1:0") and not RULES["name"]("-x") and not RULES["name"]("n" * 201)
    assert RULES["display_name"]("") and not RULES["display_name"](" lead") and not RULES["display_name"]("rtl\u202e")
    assert RULES["context_window"](None) and RULES["context_window"](12.0) and not RULES["context_window"](0)
    assert RULES["max_output_tokens"]("12") and not RULES["max_output_tokens"]("1e3")
    assert RULES["input_cost_per_million_tokens"]("0.0046875") and not RULES["input_cost_per_million_tokens"]("1e6")
    assert not RULES["input_cost_per_million_tokens"]("0.00000000001") and not cost_ok(True)
    assert RULES["deprecation_date"]("2026-01-01") and not RULES["deprecation_date"]("2026-1-1")
    assert RULES["metadata"]({"a": [1, None]}) and not RULES["metadata"]([]) and not RULES["metadata"]({"a": 2**63})
    assert not RULES["aliases"](["Base-Model"]) and not RULES["aliases"](["a", "A"]) and RULES["aliases"](["a"])
    assert not RULES["description"]("x\x00") and RULES["description"]("tab\tand\r\nline")
