"""The admin's model list counts dependencies for the rows of its page only: the correlated
count is in the list's query only when the list is sorted by it (issue 12: page 2,000 ran
it for the 100,000 rows its OFFSET skipped)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from models_registry.tests.factories import AIModelFactory, ModelDependencyFactory

pytestmark = pytest.mark.django_db

LIST = reverse("admin:models_registry_aimodel_changelist")


@pytest.fixture
def viewer(client, make_user):
    client.force_login(make_user("viewer", is_staff=True))
    return client


@pytest.fixture
def catalog():
    used, _, most_used = (AIModelFactory(name=name) for name in ("b-used", "a-unused", "c-most-used"))
    ModelDependencyFactory.create_batch(2, model=used)
    ModelDependencyFactory.create_batch(5, model=most_used)
    return {"a-unused": 0, "b-used": 2, "c-most-used": 5}


def counted(response) -> dict[str, int]:
    rows = [(model.name, model.dependency_count) for model in response.context["cl"].result_list]
    assert len(rows) == len(dict(rows)), rows  # one row per model
    return dict(rows)


def counting_in_the_list_query(queries) -> list[str]:
    """The statements that read the models and count their dependencies in one."""
    return [
        q["sql"]
        for q in queries
        if 'FROM "models_registry_aimodel"' in q["sql"] and "models_registry_modeldependency" in q["sql"]
    ]


def test_a_page_counts_the_dependencies_of_its_own_rows_after_the_query(viewer, catalog):
    with CaptureQueriesContext(connection) as queries:
        response = viewer.get(f"{LIST}?p=1")

    assert counted(response) == catalog
    assert counting_in_the_list_query(queries) == []
    assert f">{catalog['c-most-used']}</td>" in response.content.decode()


@pytest.mark.parametrize("order", ["{n}", "-{n}", "1.-{n}"])
def test_sorted_by_dependencies_the_list_query_counts_them(viewer, catalog, order):
    column = viewer.get(LIST).context["cl"].list_display.index("dependency_total")  # ?o= counts the checkbox too
    order = order.format(n=column)

    with CaptureQueriesContext(connection) as queries:
        response = viewer.get(f"{LIST}?o={order}")

    assert counted(response) == catalog
    assert counting_in_the_list_query(queries) != []
    expected = {"{n}": ["a-unused", "b-used", "c-most-used"], "-{n}": ["c-most-used", "b-used", "a-unused"]}
    if order.lstrip("-").isdigit():
        assert list(counted(response)) == expected["-{n}" if order.startswith("-") else "{n}"]


def page_query(queries) -> str:
    (sql,) = [q["sql"] for q in queries if q["sql"].startswith('SELECT "models_registry_aimodel"."id", ')]
    return sql


@pytest.mark.parametrize(
    ("sort", "order_by"),
    [
        ("", '"models_registry_aimodel"."name" ASC, "models_registry_aimodel"."id" ASC'),
        ("context_window", '"models_registry_aimodel"."context_window" ASC, "models_registry_aimodel"."id" ASC'),
        ("-context_window", '"models_registry_aimodel"."context_window" DESC, "models_registry_aimodel"."id" DESC'),
    ],
)
def test_ties_are_broken_by_id_in_the_direction_of_the_sort(viewer, catalog, sort, order_by):
    """So that the (column, id) indexes serve the page: Django's own tie-break is always
    `-pk`, which SQLite cannot read from an ascending index (it sorted all 100,000 models of
    the scale benchmark for the first page)."""
    position = viewer.get(LIST).context["cl"].list_display.index(sort.lstrip("-")) if sort else None
    query = "" if position is None else f"?o={'-' if sort.startswith('-') else ''}{position}"

    with CaptureQueriesContext(connection) as queries:
        response = viewer.get(f"{LIST}{query}")

    assert response.status_code == 200
    assert page_query(queries).split(" ORDER BY ")[1].split(" LIMIT ")[0] == order_by


def test_the_first_page_can_be_read_from_the_name_index_without_a_sort(viewer, catalog):
    """SQLite: its plan for the page. PostgreSQL, which would scan so small a table anyway:
    the plan with sorting priced out, which still sorts if no index gives the order."""
    with CaptureQueriesContext(connection) as queries:
        viewer.get(LIST)
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {page_query(queries)}")
        else:
            cursor.execute("SET LOCAL enable_sort = off")
            cursor.execute(f"EXPLAIN {page_query(queries)}")
        plan = " ".join(str(row) for row in cursor.fetchall())

    assert "aimodel_name_id" in plan, plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan
