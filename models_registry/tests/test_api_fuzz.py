"""No input reaches a 5xx (docs/api.md, errors; issue 10, item 3): Hypothesis throws odd bodies
and query strings at every operation of the published OpenAPI schema, so a new endpoint is
covered as soon as it is routed. Every answer is a success or a 4xx whose JSON body names
the fields in error (or says `detail`, or OpenAI's `error` under /v1/); never a 5xx.

The odd input: every JSON type; strings with lone surrogates, NUL, control, bidi and
zero-width characters; huge, negative and fractional numbers, NaN-like strings and tokens;
deep nesting; wrong shapes (a list for an object, an object for a list, a scalar for
either), missing and extra keys; bodies that are not JSON or not UTF-8; odd content types.
Values are mixed with plausible ones (the enum values, the names of what exists) so that
the odd one reaches the model's validation, the services and the database, not only the
first type check.
"""

import json
import re
from urllib.parse import quote

from django.contrib.auth import get_user_model
from drf_spectacular.generators import SchemaGenerator
from hypothesis import Phase, given, note, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase
from rest_framework.test import APIClient

from accounts.services import api_token_create
from models_registry.tests.factories import AIModelFactory, ModelDependencyFactory, ProviderFactory, profile

# Examples per operation, set here rather than by the Hypothesis profile: CI runs at least
# 1,000 in all (test_the_fuzzing_covers_every_operation_with_enough_examples).
WRITE_EXAMPLES = 60
READ_EXAMPLES = 10
WRITE_METHODS = {"post", "put", "patch", "delete"}

SCHEMA = SchemaGenerator().get_schema(request=None, public=True)
OPERATIONS = sorted(
    (method, path) for path, item in SCHEMA["paths"].items() for method in item if method in WRITE_METHODS | {"get"}
)

# --- Odd values ------------------------------------------------------------------------

SPECIAL_CHARACTERS = [
    "\x00", "\ud800", "\udfff", "\udbff", "\x1b", "\x7f", "\x85", "\u00a0", "\u200b", "\u200d",
    "\u202e", "\u2066", "\u2028", "\ufeff", "\ufffd", "\uffff", "\U0010ffff", "\r", "\n", "\t", "%", "_",
    "'", '"', "\\", "/", ":", "@", "İ", "ß", "\uff11", "\u0663",
]  # fmt: skip
NUMBER_LIKE = [
    "NaN",
    "nan",
    "Infinity",
    "-Infinity",
    "inf",
    "1e999",
    "-1e999",
    "0x10",
    "1_000",
    "\uff11\uff12",
    "1e-999",
    "-0",
]
odd_characters = st.sampled_from(SPECIAL_CHARACTERS) | st.characters(exclude_categories=())
odd_text = st.text(odd_characters, max_size=20) | st.sampled_from([*NUMBER_LIKE, "", " ", "null", "true", "[]", "{}"])
odd_integers = st.integers() | st.sampled_from([2**31, 2**53 + 1, 2**63 - 1, 2**63, -(2**63) - 1, 2**64, 10**30, -1, 0])
odd_scalars = (
    st.none()
    | st.booleans()
    | odd_integers
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([1e308, -1e308, 5e-324, 0.5, -0.0])
    | odd_text
)
odd_json = st.recursive(
    odd_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(odd_text, children, max_size=4),
    max_leaves=12,
)


def nested(depth: int, kind: str, leaf: str = "1") -> str:
    """JSON text nested `depth` deep (json.dumps itself cannot write that deep)."""
    if kind == "list":
        return "[" * depth + leaf + "]" * depth
    return '{"a":' * depth + leaf + "}" * depth


deep_json_text = st.builds(nested, st.sampled_from([50, 254, 255, 900, 1100, 5000]), st.sampled_from(["list", "dict"]))


# --- Plausible values, from the schema -------------------------------------------------


def resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = SCHEMA["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return {**schema, **resolve(schema["allOf"][0])}
    if "oneOf" in schema:
        return resolve(schema["oneOf"][0])
    return schema


def plausible(schema: dict, known: list[str], depth: int = 0) -> st.SearchStrategy:
    """A value of the schema's type, often a valid one: enum values, names that exist."""
    schema = resolve(schema)
    if "enum" in schema:
        return st.sampled_from([value for value in schema["enum"] if value is not None] or [None])
    kind = schema.get("type")
    if kind == "object" and "properties" in schema and depth < 3:
        return shaped(schema, known, depth + 1)
    if kind == "object":
        return st.dictionaries(
            st.sampled_from(["a", "phi_allowed", "minimum_user_age", "type"]), odd_scalars, max_size=3
        )
    if kind == "array":
        return st.lists(value_for(schema.get("items", {}), known, depth + 1), max_size=3)
    if kind == "integer":
        return st.integers(schema.get("minimum", -(2**31)), schema.get("maximum", 2**31))
    if kind == "number":
        return st.decimals(min_value=0, max_value=10**6, places=4, allow_nan=False).map(str)
    if kind == "boolean":
        return st.booleans()
    if schema.get("format") == "date":
        return st.dates().map(str)
    return st.sampled_from(known) | st.from_regex(r"\A[a-z0-9][a-z0-9._-]{0,12}\Z")


def tainted(value) -> st.SearchStrategy:
    """A plausible string with one odd character in it ("chat\ud800"): it passes the first
    checks only to be echoed back, or stored, further on."""
    if not isinstance(value, str):
        return st.just(value)
    return st.builds(
        lambda at, character: value[:at] + character + value[at:],
        st.integers(0, len(value)),
        st.sampled_from(["\ud800", "\udc00", "\x00"]) | st.sampled_from(SPECIAL_CHARACTERS),
    )


def value_for(schema: dict, known: list[str], depth: int = 0) -> st.SearchStrategy:
    value = plausible(schema, known, depth)
    return value | value.flatmap(tainted) | odd_json


def shaped(schema: dict, known: list[str], depth: int = 0) -> st.SearchStrategy:
    """An object with any subset of the schema's properties (plausible or odd) and extra keys."""
    properties = resolve(schema).get("properties", {})
    fields = st.fixed_dictionaries(
        {}, optional={name: value_for(prop, known, depth) for name, prop in properties.items()}
    )
    extra = st.dictionaries(odd_text | st.sampled_from(["id", "url", "version", "created_by"]), odd_json, max_size=2)
    return st.builds(lambda a, b: {**b, **a}, fields, extra)


def request_schema(method: str, path: str) -> dict | None:
    body = SCHEMA["paths"][path][method].get("requestBody", {}).get("content", {}).get("application/json")
    return body["schema"] if body else None


@st.composite
def bodies(draw, method: str, path: str, known: list[str]) -> tuple[bytes, str]:
    """(body, content type) for one request."""
    schema = request_schema(method, path)
    kind = draw(st.sampled_from(["shaped"] * 6 + ["json"] * 2 + ["deep", "raw"]))
    if kind == "shaped" and schema is not None:
        value = draw(shaped(schema, known))
    elif kind == "deep":
        text = draw(deep_json_text)
        if schema is not None and draw(st.booleans()):
            text = '{"name": "deep-1", "provider": "openai", "metadata": {"a": ' + text + "}}"
        return text.encode(), "application/json"
    elif kind == "raw":
        raw = draw(
            st.sampled_from([b"", b"{", b"[1,", b"NaN", b'{"a": Infinity}', b'{"a": 1e999}', b'{"a":1,"a":2}'])
            | st.binary(max_size=40)
            | st.builds(lambda n: ('{"name": ' + n + ', "provider": "openai"}').encode(), st.sampled_from(NUMBER_LIKE))
        )
        content_type = draw(
            st.sampled_from(
                ["application/json", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data", ""]
            )
        )
        return raw, content_type
    else:
        value = draw(odd_json)
    # ensure_ascii: a lone surrogate goes as the escape "\ud800", as a JSON client sends it.
    return json.dumps(value, allow_nan=False).encode(), "application/json"


def encode(text: str) -> str:
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


@st.composite
def query_strings(draw, method: str, path: str, known: list[str]) -> str:
    names = [p["name"] for p in SCHEMA["paths"][path][method].get("parameters", []) if p["in"] == "query"]
    names += ["page", "page_size", "format", "ordering", "search", "x"]
    pairs = draw(
        st.lists(
            st.tuples(
                st.sampled_from(names),
                st.sampled_from(known).flatmap(tainted) | st.sampled_from(known) | odd_text | st.integers().map(str),
            ),
            max_size=4,
        )
    )
    query = "&".join(f"{encode(name)}={encode(value)}" for name, value in pairs)
    if draw(st.booleans()):
        query += draw(st.sampled_from(["&%00=1", "&a=%ff%fe", "&a=%", "&=", "&&", "&page=%ED%A0%80", "&search=%00"]))
    return query


# --- The test --------------------------------------------------------------------------

PATH_PARAMETER = re.compile(r"\{(\w+)\}")
ERROR_BODY_KEYS = {"detail", "error"}


class TestNoInputReachesA5xx(TestCase):
    @classmethod
    def setUpTestData(cls):
        openai = ProviderFactory(slug="openai", name="OpenAI")
        successor = AIModelFactory(name="successor-1", provider=openai)
        cls.target = AIModelFactory(
            name="target-1", provider=openai, successor=successor, aliases=["alias-1"], industries=[profile("finance")]
        )
        cls.dependency = ModelDependencyFactory(model=cls.target)
        cls.path_values = {
            "models": str(cls.target.pk),
            "providers": str(openai.pk),
            "industries": str(cls.target.industry_profiles.get().industry_id),
            "dependencies": str(cls.dependency.pk),
        }
        cls.known = ["openai", "finance", "general", "target-1", "alias-1", "successor-1", "chat", "vision", "agent"]
        cls.known += [str(cls.target.pk), str(successor.pk), "activate", "delete", "deprecate"]
        user = get_user_model().objects.create_superuser("fuzzer")
        cls.key = api_token_create(user=user)[1]

    def setUp(self):
        self.client = APIClient(raise_request_exception=False)
        self.client.credentials(HTTP_AUTHORIZATION=f"Bearer {self.key}")

    def url(self, path: str, data) -> str:
        def value(match):
            segment = path[: match.start()].rstrip("/").rsplit("/", 1)[-1]
            if segment == "models" and match.group(1) == "name":
                return data.draw(st.sampled_from(["target-1", "ALIAS-1", "x"]) | odd_text.map(encode), label="name")
            plausible_value = self.path_values.get(segment, "1")
            return data.draw(st.sampled_from([plausible_value] * 4 + ["0", str(2**63), "abc"]), label=match.group(1))

        return PATH_PARAMETER.sub(value, path)

    def check(self, method: str, path: str, data) -> None:
        url = self.url(path, data)
        query = data.draw(query_strings(method, path, self.known), label="query")
        full = f"{url}?{query}" if query else url
        if method == "get":
            response = self.client.generic("GET", full)
        else:
            body, content_type = data.draw(bodies(method, path, self.known), label="body")
            note(f"body: {body[:500]!r}")
            response = self.client.generic(method.upper(), full, body, content_type=content_type)

        assert response.status_code < 500, (response.status_code, response.content[:500])
        if response.status_code >= 400:
            assert response["Content-Type"] == "application/json", response.content[:200]
            answer = json.loads(response.content)
            assert isinstance(answer, dict) and answer, answer
            if not ERROR_BODY_KEYS & set(answer):
                # Field errors: each names a field and says what is wrong with it.
                assert all(isinstance(errors, list | dict) and errors for errors in answer.values()), answer


def fuzz(method: str, path: str):
    examples = WRITE_EXAMPLES if method in WRITE_METHODS else READ_EXAMPLES

    @settings(max_examples=examples, phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink])
    @given(data=st.data())
    def test(self, data):
        self.check(method, path, data)

    test.examples = examples
    return test


for _method, _path in OPERATIONS:
    _name = "test_" + _method + "_" + re.sub(r"\W+", "_", _path).strip("_")
    setattr(TestNoInputReachesA5xx, _name, fuzz(_method, _path))


def test_the_fuzzing_covers_every_operation_with_enough_examples():
    tests = {name: test for name, test in vars(TestNoInputReachesA5xx).items() if name.startswith("test_")}
    writes = [(m, p) for m, p in OPERATIONS if m in WRITE_METHODS]

    assert len(tests) == len(OPERATIONS)
    assert {("post", "/api/v1/models"), ("delete", "/api/v1/models/{id}/dependencies/{dependency_id}")} <= set(writes)
    assert {
        ("post", "/api/v1/models/bulk"),
        ("put", "/api/v1/industries/{id}"),
        ("patch", "/api/v1/providers/{id}"),
    } <= set(writes)
    assert sum(test.examples for test in tests.values()) >= 1000
