"""Adding a field to AIModel is a short, checked list (docs/architecture.md, "Adding a field
to a model"): each place a field must reach is compared here with the one list of what
describes a model (`DESCRIBED_FIELDS`), so that a field forgotten in one of them fails."""

import pytest
from drf_spectacular.generators import SchemaGenerator

from models_registry.admin.aimodels import AIModelAdmin
from models_registry.api.representation import ROWS, represent
from models_registry.api.serializers import AIModelSerializer
from models_registry.models import AIModel
from models_registry.models.aimodels import DESCRIBED_FIELDS
from models_registry.resources import COLUMNS
from models_registry.tests.factories import AIModelFactory

# The model's own record of itself, which no client sets: why each is not described.
BOOKKEEPING = {
    "id": "the primary key",
    "created_at": "stamped on create",
    "updated_at": "stamped on every change",
    "created_by": "the account that created it",
    "updated_by": "the account that changed it last",
    "version": "moves with every change (the ETag, the admin's conflict check)",
    "search_text": "derived from the names and the description (FoldedTextField)",
}
# What the API shows beside the described fields and the bookkeeping.
API_ONLY = ["url", "dependency_count"]
NOT_IN_THE_API = ["version", "search_text"]  # the version is the ETag header


def test_every_field_of_the_model_is_described_or_bookkeeping():
    columns = {field.name for field in AIModel._meta.concrete_fields}

    assert columns == (set(DESCRIBED_FIELDS) - {"industries"}) | set(BOOKKEEPING)


def test_the_import_and_export_columns_are_the_described_fields_in_order():
    assert COLUMNS == DESCRIBED_FIELDS


def test_the_serializer_takes_the_described_fields_and_shows_the_bookkeeping():
    fields = AIModelSerializer().fields

    assert {name for name, field in fields.items() if not field.read_only} == set(DESCRIBED_FIELDS)
    assert {name for name, field in fields.items() if field.read_only} == (
        set(BOOKKEEPING) - set(NOT_IN_THE_API)
    ) | set(API_ONLY)


@pytest.mark.django_db
def test_the_runtime_representation_the_schema_and_the_serializer_agree_key_for_key():
    model = AIModelFactory()
    runtime = represent(list(ROWS.filter(pk=model.pk)))[0]
    schema = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]["AIModel"]

    assert list(runtime) == list(AIModelSerializer().fields)
    assert set(runtime) == set(schema["properties"])


def test_the_admin_form_has_every_described_field_but_the_profiles_which_are_its_inline():
    admin_fields = set()
    for _, options in AIModelAdmin.fieldsets:
        for item in options["fields"]:
            admin_fields.update(item if isinstance(item, tuple) else [item])

    assert set(DESCRIBED_FIELDS) - {"industries"} <= admin_fields


def test_the_history_keeps_every_field_but_the_derived_search_text():
    tracked = {field.name for field in AIModel.history.model.tracked_fields}

    assert tracked == {field.name for field in AIModel._meta.concrete_fields} - {"search_text"}
