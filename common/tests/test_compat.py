"""What common/compat.py relies on in Django's and django-simple-history's private APIs,
pinned: a test here failing after an upgrade names the wrapper to rewrite."""

import datetime
import io

import pytest
from django import forms
from django.contrib.auth.models import AnonymousUser, Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import F, QuerySet
from django.db.models.signals import post_delete, pre_delete
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils.functional import SimpleLazyObject
from jsonschema import Draft202012Validator

from audit.history import AuditedHistory
from common import compat
from models_registry.models import AIModel, Provider
from models_registry.tests.factories import AIModelFactory, ProviderFactory

pytestmark = pytest.mark.django_db


class RefusingDelete(QuerySet):
    """As the log models' querysets: delete() is refused."""

    def delete(self):
        raise AssertionError("QuerySet.delete() was called")


def test_raw_delete_is_one_statement_without_signals_or_the_querysets_delete():
    Group.objects.bulk_create([Group(name="compat-a"), Group(name="compat-b"), Group(name="compat-c")])
    signalled = []

    def receiver(sender, **kwargs):
        signalled.append(sender)

    pre_delete.connect(receiver, sender=Group)
    post_delete.connect(receiver, sender=Group)
    try:
        with CaptureQueriesContext(connection) as queries:
            deleted = compat.raw_delete(RefusingDelete(model=Group).filter(name__in=["compat-a", "compat-b"]))
    finally:
        pre_delete.disconnect(receiver, sender=Group)
        post_delete.disconnect(receiver, sender=Group)

    assert deleted == 2
    assert [query["sql"].split()[0] for query in queries.captured_queries] == ["DELETE"]
    assert signalled == []
    assert list(Group.objects.filter(name__startswith="compat-").values_list("name", flat=True)) == ["compat-c"]


def test_preparing_for_an_insert_takes_the_id_of_a_relation_saved_after_it_was_assigned():
    content_type = ContentType(app_label="compat", model="pinned")
    permission = Permission(codename="pinned", name="Pinned", content_type=content_type)
    content_type.save()  # after the assignment: the permission's content_type_id is still None

    compat.prepare_related_fields_for_save(permission, operation_name="insert_objects")

    assert permission.content_type_id == content_type.pk


def test_preparing_for_an_insert_refuses_a_relation_never_saved():
    permission = Permission(codename="x", name="X", content_type=ContentType(app_label="compat", model="unsaved"))

    with pytest.raises(ValueError, match=r"insert_objects\(\) prohibited"):
        compat.prepare_related_fields_for_save(permission, operation_name="insert_objects")


def test_simple_history_records_a_save_through_create_historical_record(monkeypatch):
    """AuditedHistory overrides create_historical_record to see every change: simple-history's
    signal handlers must call it, with the instance and the history type."""
    calls = []

    def seen(self, instance, history_type, using=None):
        calls.append((type(instance), history_type))

    monkeypatch.setattr(AuditedHistory, "create_historical_record", seen)

    provider = ProviderFactory(slug="pinned")
    provider.name = "Renamed"
    provider.save()
    provider.delete()

    assert calls == [(Provider, "+"), (Provider, "~"), (Provider, "-")]


def test_a_history_record_is_simple_historys_own_row_dated_as_asked(monkeypatch):
    provider = ProviderFactory(slug="dated")
    histories = []  # the HistoricalRecords that records Provider, as its handlers pass it
    monkeypatch.setattr(
        AuditedHistory, "create_historical_record", lambda self, *args, **kwargs: histories.append(self)
    )
    provider.save()
    monkeypatch.undo()
    before = provider.history.count()
    at = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)

    compat.save_history_record(histories[0], provider, "~", at=at)

    assert provider.history.count() == before + 1
    newest = provider.history.order_by("-history_id").first()
    assert (newest.history_type, newest.history_date, newest.name) == ("~", at, provider.name)
    assert not hasattr(provider, "_history_date")


def test_a_reference_resolves_to_the_schema_it_names_in_the_document_the_validator_stands_in():
    schema = {
        "$defs": {"short": {"$ref": "#/$defs/text"}, "text": {"type": "string", "maxLength": 3}},
        "properties": {"a": {"$ref": "#/$defs/short"}},
    }
    validator = Draft202012Validator(schema)

    short = compat.jsonschema_resolve(validator, "#/$defs/short")
    text = compat.jsonschema_resolve(short, short.schema["$ref"])  # from where the first one led

    assert short.schema == {"$ref": "#/$defs/text"}
    assert text.schema == {"type": "string", "maxLength": 3}
    assert text.is_valid("abc")
    assert not text.is_valid("abcd")


def test_a_lazy_object_is_known_unevaluated_until_used():
    evaluations = []
    user = SimpleLazyObject(lambda: evaluations.append(1) or AnonymousUser())

    assert not compat.lazy_object_evaluated(user)
    assert evaluations == []  # looking did not evaluate it
    assert not user.is_authenticated
    assert compat.lazy_object_evaluated(user)


def test_a_requests_body_is_read_from_the_stream_put_in_place():
    request = RequestFactory().post("/", data=b"", content_type="application/json")
    body = b'{"read": "from here"}'

    compat.replace_request_stream(request, io.BytesIO(body))
    request.META["CONTENT_LENGTH"] = str(len(body))

    assert request.body == body


def test_a_model_forms_model_validation_errors_go_through_update_errors():
    """The registry's admin forms override ModelForm._update_errors to drop an error they
    have no field to show on (models_registry/admin/forms.py): Django must still report the
    model's validation errors through it."""
    Group.objects.create(name="compat-taken")
    passed = []

    class GroupForm(forms.ModelForm):
        class Meta:
            model = Group
            fields = ["name"]

        def _update_errors(self, errors):
            passed.append(errors)
            super()._update_errors(errors)

    form = GroupForm(data={"name": "compat-taken"})

    assert not form.is_valid()
    assert list(form.errors) == ["name"]
    assert len(passed) == 1


def test_converted_rows_are_the_values_iterating_the_queryset_gives():
    """Dates come from SQLite as text and PostgreSQL's timestamps in the connection's zone:
    the converters Django would apply turn a fetched row into what `.values()` yields."""
    model = AIModelFactory()
    queryset = AIModel.objects.filter(pk=model.pk).values("pk", "name", "created_at")
    compiler = queryset.query.get_compiler(queryset.db)
    sql, params = compiler.as_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()

    converted = list(compat.converted_rows(compiler, fetched, compat.column_converters(compiler)))

    assert [dict(zip(compat.values_names(queryset), row, strict=True)) for row in converted] == list(queryset)
    assert isinstance(converted[0][2], datetime.datetime) and converted[0][2].tzinfo is not None


def test_values_names_are_the_keys_of_a_values_querysets_dicts_in_column_order():
    ProviderFactory()
    queryset = Provider.objects.values("slug", "pk").annotate(doubled=F("pk") * 2)

    assert compat.values_names(queryset) == tuple(queryset.first())
