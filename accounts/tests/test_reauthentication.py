"""A destructive operation in the admin asks for the password again after
REAUTHENTICATE_AFTER, then continues exactly where it was (Property 14: Session Management)."""

import time

from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from accounts.sessions import AUTHENTICATED_AT
from accounts.tests.session_state import LIFETIME, MARGIN, REAUTH, edit_session
from accounts.tests.users import PASSWORD
from accounts.views import PENDING_POST
from audit.choices import AuditAction, ChangeSource
from models_registry.models import AIModel
from models_registry.services import aimodel_create
from models_registry.tests.admin_pages import (
    CHANGELIST,
    REAUTHENTICATE,
    audit_entries_after,
    delete_url,
    form_fields,
    last_audit_id,
    page_of,
    signed_in,
    staff,
)
from models_registry.tests.factories import ProviderFactory


class TestReauthenticationBeforeDeleting(TestCase):
    """Property 14: Session Management.

    A destructive operation asks for the password again after REAUTHENTICATE_AFTER and
    then continues exactly where it was."""

    @given(
        st.integers(0, REAUTH - MARGIN) | st.integers(REAUTH + MARGIN, LIFETIME - MARGIN),
        st.sampled_from(["delete view", "bulk delete"]),
        st.text(st.characters(exclude_categories=["Cs"]), max_size=30).filter(lambda p: p != PASSWORD),
    )
    def test_a_delete_after_reauthentication_continues_exactly_where_it_was(self, age, route, wrong_password):
        user = staff("admin")
        model = aimodel_create(actor=None, provider=ProviderFactory(), name="n-doomed")
        client = signed_in(user, enforce_csrf_checks=True)
        authenticated_at = int(time.time()) - age
        edit_session(client, **{AUTHENTICATED_AT: authenticated_at})
        if route == "delete view":
            path = delete_url(model.pk)
            page = page_of(client.get(path))
            fields = {"post": ["yes"]}
        else:
            path = CHANGELIST
            page = page_of(client.get(path))
            fields = {"action": ["bulk_delete"], "_selected_action": [str(model.pk)], "select_across": ["0"]}
            fields["index"] = ["0"]
        token = page.find("input", name="csrfmiddlewaretoken").attrs["value"]
        mark = last_audit_id()

        response = client.post(path, {**fields, "csrfmiddlewaretoken": token})

        if age <= REAUTH:
            assert response.status_code in (200, 302)
            assert not AIModel.objects.filter(pk=model.pk).exists()
            return
        assert (response.status_code, response["Location"]) == (302, REAUTHENTICATE)
        assert AIModel.objects.filter(pk=model.pk).exists()
        assert last_audit_id() == mark

        prompt = client.get(REAUTHENTICATE)
        assert prompt.status_code == 200
        assert prompt.context["pending_path"] == path
        token = page_of(prompt).find("input", name="csrfmiddlewaretoken").attrs["value"]

        refused = client.post(REAUTHENTICATE, {"password": wrong_password, "csrfmiddlewaretoken": token})

        assert refused.status_code == 200
        assert refused.context["form"].errors
        assert client.session[AUTHENTICATED_AT] == authenticated_at
        assert AIModel.objects.filter(pk=model.pk).exists()

        confirmed = client.post(REAUTHENTICATE, {"password": PASSWORD, "csrfmiddlewaretoken": token})

        assert confirmed.status_code == 200
        assert confirmed.templates[0].name == "admin/llm/resubmit.html"
        assert abs(client.session[AUTHENTICATED_AT] - time.time()) <= MARGIN
        assert PENDING_POST not in client.session
        replay = page_of(confirmed)
        replayed = form_fields(replay, "llm-resubmit")
        assert replay.find("form", id="llm-resubmit").attrs["action"] == path
        assert {k: v for k, v in replayed.items() if k != "csrfmiddlewaretoken"} == fields
        assert AIModel.objects.filter(pk=model.pk).exists()

        done = client.post(path, replayed)

        assert done.status_code in (200, 302)
        assert not AIModel.objects.filter(pk=model.pk).exists()
        (entry,) = [e for e in audit_entries_after(mark) if e.object_type == "aimodel"]
        source = ChangeSource.ADMIN if route == "delete view" else ChangeSource.BULK
        assert (entry.action, entry.object_id, entry.source) == (AuditAction.DELETE, str(model.pk), source)
        assert (entry.username, entry.user_id) == (user.username, user.pk)
