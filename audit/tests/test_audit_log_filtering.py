"""The admin's audit log and its CSV export select exactly the entries their filters name
(Property 12: Audit Log Filtering and Display)."""

import csv
import datetime
import io
import json
import re

from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from audit.choices import AuditAction, ChangeSource
from audit.models import AuditEntry
from audit.tests.factories import AuditEntryFactory
from models_registry.tests.admin_pages import (
    AUDIT_CHANGELIST,
    AUDIT_EXPORT,
    EMPTY,
    page_of,
    result_rows,
    signed_in,
    staff,
)

AUDIT_USERS = ["alice", "bob", "carol-ops", ""]
OBJECT_TYPES = ["aimodel", "provider", "industry", "modelindustryprofile"]
OBJECT_REPRS = ["gpt-4o", "alice-helper", "Bob's model", "claude", "=cmd", "-minus"]
DAY_ZERO = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)  # entries straddle a new year

audit_specs = st.lists(
    st.fixed_dictionaries(
        {
            "username": st.sampled_from(AUDIT_USERS),
            "action": st.sampled_from(AuditAction.values),
            "source": st.sampled_from(ChangeSource.values),
            "object_type": st.sampled_from(OBJECT_TYPES),
            "object_repr": st.sampled_from(OBJECT_REPRS),
            "timestamp": st.builds(
                lambda days, seconds: DAY_ZERO + datetime.timedelta(days=days, seconds=seconds),
                st.integers(-40, 40),
                st.integers(0, 24 * 60 * 60 - 1),
            ),
        }
    ),
    max_size=25,
)
audit_filters = st.fixed_dictionaries(
    {},
    optional={
        "action": st.sampled_from(AuditAction.values),
        "source": st.sampled_from(ChangeSource.values),
        "object_type": st.sampled_from(OBJECT_TYPES),
        "user": st.sampled_from(AUDIT_USERS[:3]),
        "range": st.tuples(st.integers(-45, 45), st.integers(1, 30)),  # first day, number of days
        "hierarchy": st.tuples(st.sampled_from(["year", "month", "day"]), st.integers(-40, 40)),
    },
)


def day(offset: int) -> datetime.datetime:
    return DAY_ZERO + datetime.timedelta(days=offset)


def in_hierarchy(timestamp: datetime.datetime, level: str, offset: int) -> bool:
    chosen = day(offset)
    parts = {"year": ("year",), "month": ("year", "month"), "day": ("year", "month", "day")}[level]
    return all(getattr(timestamp, part) == getattr(chosen, part) for part in parts)


def admin_selects(entry: AuditEntry, filters: dict) -> bool:
    """The reference filter for the admin list: exact choices, a [since, until) range, the
    date hierarchy, and the search (each word in some searched field, ignoring case)."""
    if any(getattr(entry, name) != filters[name] for name in ("action", "source", "object_type") if name in filters):
        return False
    if "range" in filters:
        first, days = filters["range"]
        if not day(first) <= entry.timestamp < day(first + days):
            return False
    if "hierarchy" in filters and not in_hierarchy(entry.timestamp, *filters["hierarchy"]):
        return False
    if "user" in filters:
        searched = [entry.username, entry.object_repr, entry.object_id, entry.request_id, entry.reason]
        return all(any(word.lower() in value.lower() for value in searched) for word in filters["user"].split())
    return True


def export_selects(entry: AuditEntry, filters: dict) -> bool:
    """The reference filter for the CSV export: the same choices, the user by exact name,
    and the range and hierarchy as since/until (inclusive)."""
    if any(getattr(entry, name) != filters[name] for name in ("action", "source", "object_type") if name in filters):
        return False
    if "user" in filters and entry.username != filters["user"]:
        return False
    if "range" in filters:
        first, days = filters["range"]
        if not day(first) <= entry.timestamp < day(first + days):
            return False
    return not ("hierarchy" in filters and not in_hierarchy(entry.timestamp, *filters["hierarchy"]))


def hierarchy_bounds(level: str, offset: int) -> tuple[datetime.datetime, datetime.datetime]:
    chosen = day(offset)
    if level == "year":
        start = chosen.replace(month=1, day=1)
        return start, start.replace(year=start.year + 1)
    if level == "month":
        start = chosen.replace(day=1)
        return start, (start + datetime.timedelta(days=32)).replace(day=1)
    return chosen, chosen + datetime.timedelta(days=1)


def admin_params(filters: dict) -> dict:
    params = {f"{name}__exact": filters[name] for name in ("action", "source") if name in filters}
    if "object_type" in filters:
        params["object_type"] = filters["object_type"]
    if "user" in filters:
        params["q"] = filters["user"]
    if "range" in filters:
        first, days = filters["range"]
        params["timestamp__gte"] = str(day(first))
        params["timestamp__lt"] = str(day(first + days))
    if "hierarchy" in filters:
        level, offset = filters["hierarchy"]
        chosen = day(offset)
        for part in {"year": ["year"], "month": ["year", "month"], "day": ["year", "month", "day"]}[level]:
            params[f"timestamp__{part}"] = str(getattr(chosen, part))
    return params


def export_params(filters: dict) -> dict:
    params = {name: filters[name] for name in ("action", "source", "object_type", "user") if name in filters}
    bounds = []
    if "range" in filters:
        first, days = filters["range"]
        bounds.append((day(first), day(first + days)))
    if "hierarchy" in filters:
        bounds.append(hierarchy_bounds(*filters["hierarchy"]))
    if bounds:
        since, until = max(b[0] for b in bounds), min(b[1] for b in bounds)
        params["since"] = since.isoformat()
        params["until"] = (until - datetime.timedelta(microseconds=1)).isoformat()
    return params


def csv_safe(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


class TestAuditLogFilters(TestCase):
    """Property 12: Audit Log Filtering and Display.

    The admin's audit log shows, newest first, exactly the entries a
    reference filter selects for any combination of its filters (action, source, object
    type, date range, date hierarchy, search by user), each with its values; and the CSV
    export with the same filters has exactly those rows."""

    @given(audit_specs, audit_filters)
    def test_the_list_and_the_export_show_exactly_the_selected_entries(self, specs, filters):
        entries = [AuditEntryFactory(**spec) for spec in specs]
        client = signed_in(staff("admin"))
        newest_first = sorted(entries, key=lambda e: (e.timestamp, e.id), reverse=True)

        response = client.get(AUDIT_CHANGELIST, admin_params(filters))

        assert response.status_code == 200
        assert "e=1" not in response.get("Location", "")
        rows = result_rows(page_of(response))
        shown = [int(re.search(r"/auditentry/(\d+)/change/", link).group(1)) for _, link, _ in rows]
        assert shown == [e.id for e in newest_first if admin_selects(e, filters)]
        by_id = {entry.id: entry for entry in entries}
        for (_, _, cells), pk in zip(rows, shown, strict=True):
            entry = by_id[pk]
            assert cells["username"] == (entry.username or EMPTY)
            assert cells["action"] == entry.get_action_display()
            assert cells["object_type"] == entry.object_type
            assert cells["object_repr"] == entry.object_repr
            assert cells["source"] == entry.get_source_display()

        export = client.get(AUDIT_EXPORT, export_params(filters))

        assert export.status_code == 200
        lines = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
        assert lines[0] == [
            "id", "timestamp", "user", "action", "object_type", "object_id", "object_repr", "changes", "reason",
            "source", "request_id",
        ]  # fmt: skip
        expected = [e for e in newest_first if export_selects(e, filters)]
        assert [int(line[0]) for line in lines[1:]] == [e.id for e in expected]
        for line, entry in zip(lines[1:], expected, strict=True):
            assert datetime.datetime.fromisoformat(line[1]) == entry.timestamp
            assert line[2:7] == [
                csv_safe(entry.username), entry.action, entry.object_type, entry.object_id,
                csv_safe(entry.object_repr),
            ]  # fmt: skip
            assert json.loads(line[7]) == entry.changes
            assert line[9:] == [entry.source, entry.request_id]

    def test_the_export_and_the_list_need_the_audit_permission(self):
        client = signed_in(staff("editor"))

        assert client.get(AUDIT_EXPORT).status_code == 403
        assert client.get(AUDIT_CHANGELIST).status_code == 403
