# ruff: noqa: RUF001 (the confusable letters are the point)
"""Case is folded one way, in Python, for search and for names, on every database
(issue 10, item 10): a search for any piece of a text, in any case, finds it, through the
API, the admin and the export alike; and the name index agrees with the database's own
unique index for every name the pattern accepts."""

import io
import json
import string

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db.models import Value
from django.db.models.functions import Collate, Lower
from django.test import Client
from django.utils.text import smart_split
from hypothesis import given, note
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase
from rest_framework.test import APIClient

from accounts.roles import ROLE_GROUPS
from accounts.services import api_token_create
from models_registry.choices import BulkAction
from models_registry.folding import fold
from models_registry.models import AIModel, Provider, RegisteredName
from models_registry.models.aimodels import NameKey, is_name
from models_registry.services import aimodel_bulk_apply, aimodel_create, aimodel_update
from models_registry.tests.factories import AIModelFactory, ProviderFactory

# Letters whose case Python, SQLite and PostgreSQL each fold their own way.
TRICKY = [
    "İ", "ı", "i", "I", "ß", "ẞ", "SS", "ς", "σ", "Σ", "K", "k", "K", "ſ", "s", "ﬁ", "ﬀ", "ﬃ", "ŉ", "ǰ", "ǅ", "Ǆ",
    "Ａ", "ｚ", "Ω", "Ω", "é", "é", "Å", "Å", "ᾳ", "ͅ", "a\u0301\u0316", "가", "ᄀ", "㎁", "Ⅻ", " ", "\u00a0",
]  # fmt: skip
CASES = [str, str.lower, str.upper, str.casefold, str.swapcase, str.title]
text_characters = st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"])
descriptions = st.lists(st.sampled_from(TRICKY) | st.text(text_characters, min_size=1, max_size=3), max_size=12).map(
    "".join
)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("İstanbul", "istanbul"),
        ("İSTANBUL", "istanbul"),
        ("DİYARBAKIR", "diyarbakır"),
        ("Straße", "STRASSE"),
        ("ẞ", "ss"),
        ("ΣΊΣΥΦΟΣ", "σίσυφος"),
        ("\u212a", "k"),
        ("ſ", "s"),
        ("ﬁle", "FILE"),
        ("ＧＰＴ", "gpt"),
        ("e\u0301", "é"),
    ],
)
def test_the_spellings_of_one_word_fold_alike(a, b):
    assert fold(a) == fold(b)


@given(descriptions, st.data())
def test_folding_a_piece_of_a_text_gives_a_piece_of_the_folded_text(text, data):
    start = data.draw(st.integers(0, len(text)))
    piece = text[start : data.draw(st.integers(start, len(text)))]
    case = data.draw(st.sampled_from(CASES))

    assert fold(case(piece)) in fold(text)
    assert fold(fold(text)) == fold(text)


def exported_names(**filters) -> set[str]:
    out = io.StringIO()
    call_command("export_models", format="json", stdout=out, stderr=io.StringIO(), **filters)
    return {row["name"] for row in json.loads(out.getvalue())}


class TestEveryDoorFindsEveryPiece(TestCase):
    """A search for any substring of a description, in any case, finds the model, and the
    API, the admin's changelist and `export_models --search` select the same models."""

    @classmethod
    def setUpTestData(cls):
        cls.provider = ProviderFactory(slug="acme", name="Ａcme İnc")
        cls.viewer = get_user_model().objects.create_user("fold-viewer", password="x", is_staff=True)
        cls.viewer.groups.add(Group.objects.get(name=ROLE_GROUPS["viewer"]))
        for index, text in enumerate(["İstanbul", "istanbul", "STRASSE", "Straße", "ς σ Σ", "\u212aelvin", "ﬁne"]):
            aimodel_create(actor=None, name=f"other-{index}", provider=cls.provider, description=text)

    def setUp(self):
        _, key = api_token_create(user=self.viewer)
        self.api = APIClient()
        self.api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        self.admin = Client()
        self.admin.force_login(self.viewer)

    def doors(self, query: str) -> dict[str, set[str]]:
        api = self.api.get("/api/v1/models", {"search": query, "page_size": 500})
        admin = self.admin.get("/admin/models_registry/aimodel/", {"q": query})
        assert (api.status_code, admin.status_code) == (200, 200)
        return {
            "api": {row["name"] for row in api.json()["results"]},
            "admin": {model.name for model in admin.context_data["cl"].result_list},
            "export": exported_names(search=query),
        }

    @given(descriptions, st.data())
    def test_any_piece_in_any_case_is_found_the_same_by_every_door(self, description, data):
        aimodel_create(actor=None, name="target", provider=self.provider, description=description)
        start = data.draw(st.integers(0, len(description)))
        piece = description[start : data.draw(st.integers(start, len(description)))]
        query = data.draw(st.sampled_from(CASES))(piece)
        note(f"query: {query!r}")

        found = self.doors(query)

        assert "target" in found["api"]
        assert "target" in found["admin"]
        assert found["api"] == found["export"]
        if list(smart_split(query)) == [query.strip()] and not query.strip().startswith(('"', "'")):
            assert found["admin"] == found["api"]  # one word: the admin's per-word search is the same
        else:
            assert found["admin"] >= found["api"]  # every word somewhere, not the phrase

    def test_istanbul_is_found_in_every_spelling(self):
        found = {query: self.doors(query)["api"] for query in ["İstanbul", "istanbul", "ISTANBUL", "İSTANBUL"]}

        assert all(names == {"other-0", "other-1"} for names in found.values()), found

    def test_the_provider_is_searched_folded_too(self):
        assert self.doors("acme inc")["api"] == {f"other-{index}" for index in range(7)}


@pytest.mark.django_db
def test_search_text_follows_every_writer(tmp_path):
    """Created, updated and imported models carry their folded text; a status change
    through the bulk path leaves it as it was."""
    model = AIModelFactory(name="Writer-1", display_name="Ｄisplay", aliases=["Alias-I"], description="İ")
    assert AIModel.objects.get(pk=model.pk).search_text == "writer-1\x1fdisplay\x1falias-i\x1fi"

    aimodel_update(model=model, actor=None, description="Straße")
    assert AIModel.objects.get(pk=model.pk).search_text == "writer-1\x1fdisplay\x1falias-i\x1fstrasse"

    path = tmp_path / "models.json"
    path.write_text(
        json.dumps(
            [
                {"name": "Writer-1", "provider": model.provider.slug, "description": "ΣΊΣΥΦΟΣ"},
                {"name": "writer-2", "provider": model.provider.slug, "display_name": "ﬁne"},
            ]
        )
    )
    call_command("import_models", str(path))

    stored = dict(AIModel.objects.values_list("name", "search_text"))
    assert stored == {"Writer-1": "writer-1\x1fdisplay\x1falias-i\x1fσισυφοσ", "writer-2": "writer-2\x1ffine\x1f"}

    aimodel_bulk_apply(action=BulkAction.DEPRECATE, ids=[model.pk], actor=None)
    assert dict(AIModel.objects.values_list("name", "search_text")) == stored


@pytest.mark.django_db
def test_a_save_of_some_fields_writes_the_search_text_with_them_and_nothing_more():
    """save(update_fields=...) naming a field the search text folds writes the text too; one
    naming none of them leaves the text as stored; neither writes a field it did not name."""
    model = AIModelFactory(name="Partial-1", display_name="Shown", aliases=[], description="Old", status="active")
    model.description, model.status = "New", "deprecated"

    model.save(update_fields=["description"])
    stored = AIModel.objects.get(pk=model.pk)
    assert (stored.description, stored.status, stored.search_text) == ("New", "active", "partial-1\x1fshown\x1fnew")

    model.name = "Partial-2"
    model.save(update_fields=["status"])
    stored = AIModel.objects.get(pk=model.pk)
    assert (stored.name, stored.status, stored.search_text) == (
        "Partial-1",
        "deprecated",
        "partial-1\x1fshown\x1fnew",
    )


@pytest.mark.django_db
def test_the_saved_instance_holds_the_search_text_it_wrote():
    model = aimodel_create(actor=None, provider=ProviderFactory(), name="Held-1", display_name="Shown")

    assert model.search_text == AIModel.objects.get(pk=model.pk).search_text == "held-1\x1fshown\x1f"


# --- Names ----------------------------------------------------------------------------

# Every character the name pattern accepts: ASCII only.
NAME_CHARACTERS = string.ascii_letters + string.digits + "._:/@+-"


def test_the_name_pattern_accepts_ascii_only():
    """Compiled without IGNORECASE: the Kelvin sign and the long s, which lower to k and
    s, do not pass for letters. (A final newline passes `$`; it lowers to itself.)"""
    accepted = {chr(code) for code in range(0x110000) if not 0xD800 <= code <= 0xDFFF and is_name("a" + chr(code))}

    assert accepted - {"\n"} == set(NAME_CHARACTERS)
    assert all(fold(c) == c.lower() for c in accepted)
    assert not any(is_name(name) for name in ["\u212aelvin", "ſonnet", "İx", "ıx", "ＧＰＴ"])


@pytest.mark.django_db
def test_the_database_keys_names_as_python_folds_them():
    """For every name the pattern accepts, the unique index's key (computed by the
    database) is fold(name), which is what the name index holds."""
    name = "A" + NAME_CHARACTERS
    model = AIModelFactory(name=name)

    key = AIModel.objects.annotate(key=NameKey("name")).values_list("key", flat=True).get(pk=model.pk)

    assert key == fold(name) == name.lower()
    assert RegisteredName.objects.get(model=model).name == fold(name)


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_name_key_ignores_a_turkish_collation():
    """PostgreSQL's LOWER follows the collation: under a Turkish one "I" lowers to a
    dotless i, so "GPT-I" and "gpt-i" would be two names. The index's key does not."""
    ProviderFactory(slug="acme")  # a row to compute over
    turkish = Collate(Value("GPT-I"), "tr-x-icu")

    plain, keyed = Provider.objects.annotate(plain=Lower(turkish), keyed=NameKey(turkish)).values_list(
        "plain", "keyed"
    )[0]

    assert plain == "gpt-\u0131"
    assert keyed == "gpt-i" == fold("GPT-I")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("first", "second"),
    [("GPT-I", "gpt-i"), ("gpt-i", "GPT-I"), ("Strasse", "STRASSE"), ("KELVIN", "kelvin")],
)
def test_two_names_that_fold_alike_cannot_both_be_held(first, second):
    provider = ProviderFactory(slug="acme")
    AIModelFactory(name=first, provider=provider)

    with pytest.raises(ValidationError) as name_taken:
        aimodel_create(actor=None, name=second, provider=provider)
    with pytest.raises(ValidationError) as alias_taken:
        aimodel_create(actor=None, name="other", provider=provider, aliases=[second])

    assert "name" in name_taken.value.message_dict
    assert "aliases" in alias_taken.value.message_dict
    assert AIModel.objects.count() == 1


@pytest.mark.django_db
def test_a_name_lookup_matches_names_only_never_a_folded_lookalike(client):
    AIModelFactory(name="gpt-i", aliases=["kelvin"])

    assert exported_names(name="GPT-I") == {"gpt-i"}
    assert exported_names(name="GPT-İ") == set()
    assert exported_names(name="\u212aelvin") == set()
    assert exported_names(name="KELVIN") == {"gpt-i"}
