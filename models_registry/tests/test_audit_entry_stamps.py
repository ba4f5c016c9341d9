"""Property 11, every entry's stamps: after any program of creates, updates and deletes,
single and bulk, through the API or through the services, each audit entry written says
who (the user, by id and name), when (within the operation), why (the reason as sent),
in which request (the X-Request-ID sent, or the one generated and returned) and through
which door (`api`, `bulk`, `cli`), and there is one per object changed.
"""

import re

from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client, override_settings
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from accounts.services import api_token_create
from audit.choices import ChangeSource
from audit.context import change_context
from audit.models import AuditEntry
from models_registry.choices import STATUS_BY_BULK_ACTION, BulkAction, ModelStatus
from models_registry.models import AIModel
from models_registry.services import aimodel_bulk_apply, aimodel_create, aimodel_delete, aimodel_update
from models_registry.tests.factories import ProviderFactory

# The contract's request id: a caller's X-Request-ID is kept when it is a sane token (up to 64
# of these characters); otherwise one is made and returned.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

request_ids = st.one_of(
    st.none(),  # no header
    st.from_regex(r"\A[A-Za-z0-9._:-]{1,64}\Z"),
    st.sampled_from(["", "has space", "x" * 65, "semi;colon", "caf\u00e9"]),
)
# A header carries latin-1 text; no whitespace at either end (servers strip it).
header_reasons = st.from_regex(r"\A([A-Za-z0-9][A-Za-z0-9 .,:()-]{0,40}[A-Za-z0-9])?\Z")
body_reasons = st.text(st.characters(exclude_categories=["Cc", "Cs"]), max_size=60)
UPDATES = {
    "display_name": st.sampled_from(["", "Alpha", "Beta"]),
    "status": st.sampled_from(ModelStatus.values),
    "context_window": st.sampled_from([None, 8192, 128_000]),
}
steps = st.one_of(
    st.tuples(st.just("create"), st.integers(0, 3)),
    st.tuples(st.just("update"), st.integers(0, 3), st.sampled_from(sorted(UPDATES)), st.data()),
    st.tuples(st.just("delete"), st.integers(0, 3)),
    st.tuples(st.just("bulk"), st.sampled_from(BulkAction.values), st.lists(st.integers(0, 3), max_size=4)),
)
programs = st.lists(st.tuples(steps, request_ids, header_reasons, body_reasons), min_size=1, max_size=8)


def last_entry_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def expected_changes(kind: str, args, live: dict, value=None) -> set[int]:
    """The ids of the models a step changes (before it runs)."""
    if kind == "create":
        return set()  # (the new id: added once known)
    if kind == "update":
        index, field = args[0], args[1]
        model = AIModel.objects.get(pk=live[args[0]])
        return {live[index]} if getattr(model, field) != value else set()
    if kind == "delete":
        return {live[args[0]]}
    action, indexes = args
    targets = {live[i] for i in indexes if i in live}
    if action == BulkAction.DELETE:
        return targets
    new = STATUS_BY_BULK_ACTION[action]
    return {pk for pk in targets if AIModel.objects.get(pk=pk).status != new}


def to_the_millisecond(moment):
    """On SQLite the set-based writers (bulk status moves) store the time cast through
    SQLite's strftime('%f'), which keeps milliseconds: the entry may read up to 0.999 ms
    before the operation began. PostgreSQL keeps microseconds."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


class StampChecks:
    def assert_entries_since(self, mark: int, changed: set[int], **stamps):
        """The entries written after entry `mark`: one per changed model, each with `stamps`."""
        entries = list(AuditEntry.objects.filter(id__gt=mark))
        self.assert_one_per_changed_model(entries, changed)
        self.assert_stamps(entries, **stamps)

    def assert_stamps(self, entries, *, user, started, finished, reason, request_id, source):
        started = to_the_millisecond(started)
        for entry in entries:
            assert (entry.user_id, entry.username) == (user.pk, user.username), entry
            assert started <= entry.timestamp <= finished, (started, entry.timestamp, finished)
            assert entry.reason == reason, (entry.reason, reason)
            assert entry.request_id == request_id, (entry.request_id, request_id)
            assert entry.source == source, (entry.source, source)

    def assert_one_per_changed_model(self, entries, changed: set[int]):
        models = sorted(int(e.object_id) for e in entries if e.object_type == "aimodel")
        assert models == sorted(changed), (models, changed)


# Hundreds of requests from one client: the rate limit is tested on its own.
@override_settings(REST_FRAMEWORK={**django_settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"client": None}})
class TestStampsThroughTheApi(StampChecks, TestCase):
    def setUp(self):
        self.user = get_user_model().objects.create_user("registry-admin", password="correct horse battery staple")
        self.user.groups.add(Group.objects.get(name="Model Administrators"))
        _, key = api_token_create(user=self.user)
        self.client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {key}")

    def send(self, method: str, path: str, body, request_id, reason):
        headers = {"X-Change-Reason": reason}
        if request_id is not None:
            headers["X-Request-ID"] = request_id
        data = body if body is not None else ""
        return getattr(self.client, method)(path, data, content_type="application/json", headers=headers)

    @settings(max_examples=40, deadline=None)
    @given(programs)
    def test_every_entry_names_the_user_the_time_the_reason_the_request_and_the_door(self, program):
        ProviderFactory(slug="acme")
        live: dict[int, int] = {}  # index -> model id
        for (kind, *args), request_id, header_reason, body_reason in program:
            if (kind in ("update", "delete") and args[0] not in live) or (kind == "create" and args[0] in live):
                continue
            value = args[2].draw(UPDATES[args[1]]) if kind == "update" else None
            changed = expected_changes(kind, args, live, value)
            reason, source = header_reason, ChangeSource.API
            mark, started = last_entry_id(), timezone.now()
            if kind == "create":
                response = self.send(
                    "post", "/api/v1/models", {"name": f"m{args[0]}", "provider": "acme"}, request_id, reason
                )
                assert response.status_code == 201, response.content
                live[args[0]] = response.json()["id"]
                changed = {live[args[0]]}
            elif kind == "update":
                path = f"/api/v1/models/{live[args[0]]}"
                response = self.send("patch", path, {args[1]: value}, request_id, reason)
                assert response.status_code == 200, response.content
            elif kind == "delete":
                response = self.send("delete", f"/api/v1/models/{live.pop(args[0])}", None, request_id, reason)
                assert response.status_code == 204, response.content
            else:
                action, indexes = args
                ids = [live[i] for i in dict.fromkeys(indexes) if i in live] or [10**12]
                reason, source = body_reason, ChangeSource.BULK
                body = {"action": action, "ids": ids, "reason": body_reason}
                response = self.send("post", "/api/v1/models/bulk", body, request_id, header_reason)
                assert response.status_code == 200, response.content
                if action == BulkAction.DELETE:
                    live = {i: pk for i, pk in live.items() if pk not in changed}
            finished = timezone.now()

            returned = response["X-Request-ID"]
            if request_id is not None and SANE_REQUEST_ID.fullmatch(request_id):
                assert returned == request_id
            else:
                assert SANE_REQUEST_ID.fullmatch(returned) and returned != request_id
            self.assert_entries_since(
                mark,
                changed,
                user=self.user,
                started=started,
                finished=finished,
                reason=reason,
                request_id=returned,
                source=source,
            )


class TestStampsThroughTheServices(StampChecks, TestCase):
    """A command's run: the context it opens names the request id and the door."""

    def setUp(self):
        self.user = get_user_model().objects.create_user("operator", password="correct horse battery staple")

    @settings(max_examples=40, deadline=None)
    @given(programs)
    def test_every_entry_names_the_user_the_time_the_reason_the_run_and_the_door(self, program):
        provider = ProviderFactory(slug="acme")
        live: dict[int, int] = {}
        for (kind, *args), request_id, _, reason in program:
            if (kind in ("update", "delete") and args[0] not in live) or (kind == "create" and args[0] in live):
                continue
            value = args[2].draw(UPDATES[args[1]]) if kind == "update" else None
            changed = expected_changes(kind, args, live, value)
            run_id = request_id if request_id and SANE_REQUEST_ID.fullmatch(request_id) else "run-1"
            mark, started = last_entry_id(), timezone.now()
            source = ChangeSource.CLI
            with change_context(source=ChangeSource.CLI, request_id=run_id, actor=None, reason=""):
                if kind == "create":
                    model = aimodel_create(actor=self.user, reason=reason, provider=provider, name=f"m{args[0]}")
                    live[args[0]] = model.pk
                    changed = {model.pk}
                elif kind == "update":
                    model = AIModel.objects.get(pk=live[args[0]])
                    aimodel_update(model=model, actor=self.user, reason=reason, **{args[1]: value})
                elif kind == "delete":
                    aimodel_delete(model=AIModel.objects.get(pk=live.pop(args[0])), actor=self.user, reason=reason)
                else:
                    action, indexes = args
                    ids = [live[i] for i in dict.fromkeys(indexes) if i in live]
                    aimodel_bulk_apply(action=action, ids=ids, actor=self.user, reason=reason)
                    source = ChangeSource.BULK
                    if action == BulkAction.DELETE:
                        live = {i: pk for i, pk in live.items() if pk not in changed}
            finished = timezone.now()

            self.assert_entries_since(
                mark,
                changed,
                user=self.user,
                started=started,
                finished=finished,
                reason=reason,
                request_id=run_id,
                source=source,
            )
