"""Page-number lists of the API count exactly up to EXACT_COUNT_LIMIT rows and, past it on
PostgreSQL, take the planner's estimate (an exact COUNT of ten million audit entries reads
them all on every page: issue 12), saying so in `X-Count-Estimated`. An estimate may be
short of the truth or past it: the `next` links still lead over every row exactly once, and
only a page with no rows is a 404 (common/paginators.py)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEntry
from audit.tests.factories import AuditEntryFactory
from common import estimates
from llm_admin.api.pagination import COUNT_ESTIMATED_HEADER
from models_registry.tests.factories import AIModelFactory

pytestmark = pytest.mark.django_db

LISTS = {
    "audit": ("/api/v1/audit", lambda: AuditEntryFactory.create_batch(33)),
    "models": ("/api/v1/models", lambda: AIModelFactory.create_batch(33)),
}


def walk(client, url: str) -> tuple[list, list]:
    """Every page's results and responses, following `next` from `url`."""
    results, responses = [], []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        responses.append(response)
        results.extend(item["id"] for item in response.json()["results"])
        url = response.json()["next"]
    return results, responses


@pytest.mark.parametrize("listed", LISTS)
def test_a_list_within_the_limit_is_counted_exactly_and_says_nothing(api_as, listed):
    url, create = LISTS[listed]
    create()
    client = api_as("admin")

    response = client.get(f"{url}?page_size=10")

    assert response.json()["count"] == (33 if listed == "models" else AuditEntry.objects.count())
    assert COUNT_ESTIMATED_HEADER not in response


@pytest.mark.postgres
@pytest.mark.parametrize("listed", LISTS)
@pytest.mark.parametrize("planned", [11, 50, 400], ids=["estimate-short", "estimate-over", "estimate-far-over"])
def test_past_the_limit_the_count_is_an_estimate_and_the_links_still_cover_every_row_once(
    api_as, monkeypatch, listed, planned
):
    url, create = LISTS[listed]
    create()
    client = api_as("admin")
    everything = [item["id"] for item in client.get(f"{url}?page_size=500").json()["results"]]
    monkeypatch.setattr(estimates, "EXACT_COUNT_LIMIT", 10)
    monkeypatch.setattr(estimates, "planned_rows", lambda queryset: planned)

    walked, responses = walk(client, f"{url}?page_size=10")

    assert walked == everything
    assert len(responses) == 4  # 33 rows at 10 a page, however wrong the estimate
    for response in responses:
        assert response[COUNT_ESTIMATED_HEADER] == "true"
        assert response.json()["count"] == max(planned, 11)
    assert client.get(f"{url}?page_size=10&page=5").status_code == 404
    assert client.get(f"{url}?page_size=10&page=4").json()["next"] is None


@pytest.mark.postgres
def test_the_estimate_is_postgresqls_plan_for_the_filtered_list(api_as, monkeypatch):
    AuditEntryFactory.create_batch(40, object_type="provider")
    AuditEntryFactory.create_batch(5, object_type="industry")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audit_auditentry")
    monkeypatch.setattr(estimates, "EXACT_COUNT_LIMIT", 10)
    client = api_as("admin")

    many = client.get("/api/v1/audit?object_type=provider&page_size=10")
    few = client.get("/api/v1/audit?object_type=industry&page_size=10")

    assert many[COUNT_ESTIMATED_HEADER] == "true"
    assert many.json()["count"] >= 11  # never below what was counted before the estimate
    assert few.json()["count"] == 5
    assert COUNT_ESTIMATED_HEADER not in few


@pytest.mark.postgres
def test_a_page_far_past_the_estimate_is_a_404_without_reading_rows(api_as, monkeypatch):
    """Up to twice the estimate's last page a page is read (the estimate may be short); past
    that it is refused unread, so no page number makes the database walk a huge OFFSET."""
    AuditEntryFactory.create_batch(33)
    client = api_as("admin")
    monkeypatch.setattr(estimates, "EXACT_COUNT_LIMIT", 10)
    monkeypatch.setattr(estimates, "planned_rows", lambda queryset: 11)  # 2 pages of 10 estimated

    within = client.get("/api/v1/audit?page_size=10&page=4")
    with CaptureQueriesContext(connection) as queries:
        past = client.get("/api/v1/audit?page_size=10&page=5000000")

    assert within.status_code == 200 and len(within.json()["results"]) == 3
    assert past.status_code == 404
    assert not [query for query in queries if "OFFSET" in query["sql"]]
