"""GET /api/v1/models over 100,000 models, through the real view stack, side by side with
the limit: raw SQL for the same page, encoded with orjson.

The request goes through django.test.Client with an admin's API token (the production
path: every middleware, token authentication, permissions, the FilterSet, pagination, the
representation and the orjson renderer). The limit runs the same statements by hand: the
count, the page (same columns, same ordering, same LIMIT/OFFSET, the dependency count)
and the page's industry profiles; it builds the same body (JSON columns passed through as
`orjson.Fragment`) and encodes it with orjson. After every run the body is checked equal
to the other's. Target: at most 2x the raw limit on PostgreSQL, per case.
"""

import datetime
from collections import defaultdict
from urllib.parse import urlencode

import orjson
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from rest_framework.utils.urls import remove_query_param, replace_query_param

from accounts.services import api_token_create
from bench.harness import Measurement, Operation, Table, measure_in_turn
from bench.seeding import SyntheticCatalog
from common.estimates import EXACT_COUNT_LIMIT
from llm_admin.api.pagination import COUNT_ESTIMATED_HEADER
from models_registry.choices import Capability
from models_registry.folding import fold
from models_registry.models import (
    AIModel,
    Industry,
    ModelDependency,
    ModelIndustryProfile,
    Provider,
)

TITLE = "GET /api/v1/models: the real view stack vs raw SQL + orjson for the same page"
TARGET_RATIO = 2.0  # the target, on PostgreSQL
PATH = "/api/v1/models"
HOST = "localhost"
PAGE_SIZES = [50, 500]
FILTERED = {"provider": "bedrock", "capability": "vision", "ordering": "-context_window"}
CASES = [  # (label, query parameters other than page_size)
    ("all, by name", {}),
    ("all, by name, page 20", {"page": "20"}),
    ("provider+capability, by -context_window", FILTERED),
    ("search=claude", {"search": "claude"}),
]
ORDERINGS = {"-context_window": "m.context_window DESC"}  # what the cases use; by name otherwise


def run(options) -> Table:
    catalog = SyntheticCatalog()
    seeded = catalog.add(options.list_models)
    client = admin_client()
    client.get(PATH)  # the token's first use writes its last_used_at; the measured requests read only
    rows, detailed = [], []
    verdicts: dict[tuple[str, int], float] = {}
    statements: dict[str, set[int]] = defaultdict(set)  # per case, over every page size
    for label, params in CASES:
        for size in PAGE_SIZES:
            query = {**params, "page_size": str(size)}
            expected = orjson.loads(raw_page(query))
            api, raw = measure_in_turn(
                [
                    Operation(
                        f"API {label}, {size}",
                        size,
                        lambda query=query: client.get(PATH, query),
                        reset=lambda: None,
                        check=lambda response, expected=expected: check_response(response, expected),
                    ),
                    Operation(
                        f"raw {label}, {size}",
                        size,
                        lambda query=query: raw_page(query),
                        reset=lambda: None,
                        check=lambda body, expected=expected: expect("raw body", orjson.loads(body), expected),
                    ),
                ],
                repeat=options.requests,
            )
            ratio = api.seconds / raw.seconds
            verdicts[label, size] = ratio
            statements[label].add(api.statements)
            detailed.append(api)
            rows.append(table_row(label, size, expected, api, raw, ratio))
    notes = [
        f"{catalog.count:,} models seeded set-based in SQL in {seeded:.1f}s: 36 providers, every 10th model with 2",
        "industry profiles, every 25th with a dependency (every 50th with two), aliases on every 5th.",
        f"Best of {options.requests} request(s) per side and case, the two sides taken in turn, after an untimed "
        "warm-up that counts the statements (API: everything Django runs, token lookup included).",
        "Raw: the count, the page and its profiles as three SQL statements, rows turned into the API's shape by hand",
        "(prices from the scaled integers, JSON columns embedded as they come), encoded with orjson.",
        f"Filtered case: ?{urlencode(FILTERED)}. After every run the body is checked equal to the other side's.",
    ]
    return Table(TITLE, HEADERS, rows, notes, verdict(verdicts, statements), detailed)


HEADERS = ("case", "page size", "count", "API ms", "raw ms", "x raw", "API queries", "raw queries")


def table_row(label: str, size: int, expected: dict, api: Measurement, raw: Measurement, ratio: float) -> tuple:
    return (
        label,
        str(size),
        f"{expected['count']:,}",
        f"{api.seconds * 1000:.1f}",
        f"{raw.seconds * 1000:.1f}",
        f"{ratio:.2f}x",
        str(api.statements),
        str(raw.statements),
    )


def verdict(ratios: dict[tuple[str, int], float], statements: dict[str, set[int]]) -> str:
    worst_case = max(ratios, key=ratios.get)
    worst = ratios[worst_case]
    met = sum(ratio <= TARGET_RATIO for ratio in ratios.values())
    line = (
        f"list API: {met} of {len(ratios)} cases within {TARGET_RATIO:g}x the raw limit; worst {worst:.2f}x "
        f"({worst_case[0]}, page size {worst_case[1]}) (target <= {TARGET_RATIO:g}x on PostgreSQL)"
    )
    line += (
        f": not judged on {connection.display_name}"
        if connection.vendor != "postgresql"
        else (f": {'MET' if worst <= TARGET_RATIO else 'MISSED'}")
    )
    constant = all(len(found) == 1 for found in statements.values())
    detail = ", ".join(f"{label}: {'/'.join(map(str, sorted(found)))}" for label, found in statements.items())
    judged = "constant" if constant else "NOT constant"
    return f"{line}\nqueries per request, per case over every page size ({detail}): {judged}"


def admin_client() -> Client:
    user_model = get_user_model()
    admin = user_model.objects.filter(username="bench-admin").first() or user_model.objects.create_superuser(
        "bench-admin", "bench-admin@example.com", None
    )
    _, key = api_token_create(user=admin, name="benchmark")
    return Client(SERVER_NAME=HOST, HTTP_AUTHORIZATION=f"Bearer {key}")


def check_response(response, expected: dict) -> None:
    """The API's body is the raw one; an estimated count (X-Count-Estimated) is the planner's
    estimate of the API's own query, which the raw query's plan need not match to the row."""
    expect("status", response.status_code, 200)
    body = orjson.loads(response.content)
    if response.get(COUNT_ESTIMATED_HEADER) == "true":
        expect("count estimated by both", expected["count"] > EXACT_COUNT_LIMIT, True)
        expected = {**expected, "count": body["count"]}
    expect("API body", body, expected)


# The limit. Identifiers come from the models' metadata; values are parameters.


def raw_page(query: dict) -> bytes:
    size, page = int(query["page_size"]), int(query.get("page", 1))
    where, params = raw_filters(query)
    order = ORDERINGS.get(query.get("ordering", ""), "m.name")
    table = {model: connection.ops.quote_name(model._meta.db_table) for model in (AIModel, Provider, ModelDependency)}
    with connection.cursor() as cursor:
        # The provider join only when a condition needs it: it never changes the count (provider is required).
        join = f"JOIN {table[Provider]} p ON p.id = m.provider_id" if "p." in where else ""
        # Counted as the API counts (common/paginators.py): exactly up to EXACT_COUNT_LIMIT rows,
        # past it the planner's estimate (PostgreSQL), and then one row read past the page for `next`.
        cursor.execute(
            f"SELECT COUNT(*) FROM (SELECT 1 FROM {table[AIModel]} m {join} {where} LIMIT %s) bounded",  # noqa: S608
            [*params, EXACT_COUNT_LIMIT + 1],
        )
        count = cursor.fetchone()[0]
        estimated = connection.vendor == "postgresql" and count > EXACT_COUNT_LIMIT
        if estimated:
            cursor.execute(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM {table[AIModel]} m {join} {where}", params)  # noqa: S608
            count = max(count, int(cursor.fetchone()[0][0]["Plan"]["Plan Rows"]))
        cursor.execute(
            f"""SELECT m.id, m.name, m.display_name, p.slug, m.model_type, m.capabilities, m.context_window,
                m.max_output_tokens, m.input_cost_per_million_tokens, m.output_cost_per_million_tokens, m.status,
                m.deprecation_date, m.sunset_date, s.name, m.description, m.metadata, m.aliases, m.created_at,
                m.updated_at, m.created_by, m.updated_by,
                (SELECT COUNT(*) FROM {table[ModelDependency]} d WHERE d.model_id = m.id)
            FROM {table[AIModel]} m
            JOIN {table[Provider]} p ON p.id = m.provider_id
            LEFT JOIN {table[AIModel]} s ON s.id = m.successor_id
            {where}
            ORDER BY {order}, m.id
            LIMIT %s OFFSET %s""",  # noqa: S608
            [*params, size + estimated, (page - 1) * size],
        )
        models = cursor.fetchall()
        followed, models = len(models) > size, models[:size]
        profiles = raw_profiles(cursor, [row[0] for row in models])
    base = f"http://{HOST}{PATH}"
    url = f"{base}?{urlencode(query)}"
    last_page = max(1, -(-count // size))
    previous = None
    if page > 1:  # as DRF writes it: page 1 is the URL without `page`
        previous = remove_query_param(url, "page") if page == 2 else replace_query_param(url, "page", page - 1)
    body = {
        "count": count,
        "next": replace_query_param(url, "page", page + 1) if (followed if estimated else page < last_page) else None,
        "previous": previous,
        "results": [shape(row, base, profiles) for row in models],
    }
    return orjson.dumps(body, option=orjson.OPT_UTC_Z)


def raw_filters(query: dict) -> tuple[str, list]:
    """The WHERE clause the FilterSet builds for these parameters, by hand: the same semantics
    (so the same rows), written as directly as each backend allows."""
    postgres = connection.vendor == "postgresql"
    conditions, params = [], []
    if "provider" in query:
        conditions.append("p.slug = %s")
        params.append(query["provider"])
    if "capability" in query:
        if postgres:
            conditions.append("m.capabilities @> %s::jsonb")
            params.append(orjson.dumps([query["capability"]]).decode())
        else:
            conditions.append("m.capabilities LIKE %s")  # the JSON text holds "vision" (LIKE ignores ASCII case)
            params.append(f'%"{query["capability"]}"%')
    if "search" in query:
        # As the FilterSet searches: the folded text column, the providers whose folded slug or
        # name holds the folded text, and the capabilities whose name holds it.
        text = fold(query["search"]).strip()
        tests, params = ["m.search_text LIKE %s"], [*params, f"%{text}%"]
        providers = [pk for pk, *texts in Provider.objects.values_list("pk", "slug", "name")
                     if any(text in fold(value) for value in texts)]  # fmt: skip
        if providers:
            tests.append(f"m.provider_id IN ({', '.join(['%s'] * len(providers))})")
            params += providers
        for capability in (value for value in Capability.values if text in value):
            tests.append("m.capabilities::text LIKE %s" if postgres else "m.capabilities LIKE %s")
            params.append(f'%"{capability}"%')
        conditions.append("(" + " OR ".join(tests) + ")")
    return ("WHERE " + " AND ".join(conditions) if conditions else ""), params


def raw_profiles(cursor, ids: list[int]) -> dict[int, list[dict]]:
    if not ids:
        return {}
    profiles, industries = (connection.ops.quote_name(m._meta.db_table) for m in (ModelIndustryProfile, Industry))
    if connection.vendor == "postgresql":
        selected, params = "pr.model_id = ANY(%s)", [ids]
    else:
        selected, params = f"pr.model_id IN ({', '.join(['%s'] * len(ids))})", ids
    cursor.execute(
        f"""SELECT pr.model_id, i.slug, pr.enabled, pr.settings FROM {profiles} pr
        JOIN {industries} i ON i.id = pr.industry_id WHERE {selected} ORDER BY pr.model_id, i.slug""",  # noqa: S608
        params,
    )
    found = defaultdict(list)
    for model_id, industry, enabled, settings in cursor.fetchall():
        found[model_id].append({"industry": industry, "enabled": bool(enabled), "settings": orjson.Fragment(settings)})
    return found


def shape(row: tuple, base: str, profiles: dict) -> dict:
    (pk, name, display_name, provider, model_type, capabilities, context_window, max_output_tokens, input_cost,
     output_cost, status, deprecation_date, sunset_date, successor, description, metadata, aliases, created_at,
     updated_at, created_by, updated_by, dependency_count) = row  # fmt: skip
    return {
        "id": pk,
        "url": f"{base}/{pk}",
        "name": name,
        "display_name": display_name,
        "provider": provider,
        "model_type": model_type,
        "capabilities": orjson.Fragment(capabilities),
        "context_window": context_window,
        "max_output_tokens": max_output_tokens,
        "input_cost_per_million_tokens": price(input_cost),
        "output_cost_per_million_tokens": price(output_cost),
        "status": status,
        "deprecation_date": str(deprecation_date) if deprecation_date is not None else None,
        "sunset_date": str(sunset_date) if sunset_date is not None else None,
        "successor": successor,
        "description": description,
        "industries": profiles.get(pk, []),
        "metadata": orjson.Fragment(metadata),
        "aliases": orjson.Fragment(aliases),
        "dependency_count": dependency_count,
        "created_at": moment(created_at),
        "updated_at": moment(updated_at),
        "created_by": created_by or None,
        "updated_by": updated_by or None,
    }


def price(scaled: int | None) -> str | None:
    """A price column (an integer count of 1e-10) as the API writes it: "2.5", not "2.5000000000"."""
    if scaled is None:
        return None
    whole, fraction = divmod(scaled, 10**10)
    return decimal_text_of(whole, fraction)


def decimal_text_of(whole: int, fraction: int) -> str:
    digits = f"{fraction:010d}".rstrip("0")
    return f"{whole}.{digits}" if digits else str(whole)


def moment(value: datetime.datetime) -> datetime.datetime:
    """A timestamp as orjson writes the API's (UTC, "Z"): SQLite's come back naive, in UTC."""
    return value.replace(tzinfo=datetime.UTC) if value.tzinfo is None else value


def expect(what: str, actual, expected) -> None:
    if actual != expected:
        where = first_difference(actual, expected)
        raise AssertionError(f"{what} differs from the expected body at {where}")


def first_difference(actual, expected, path: str = "") -> str:
    """Where two JSON values first differ, and how: `results[3].name: 'a' != 'b'`."""
    if isinstance(actual, dict) and isinstance(expected, dict) and actual.keys() == expected.keys():
        for key in actual:
            if actual[key] != expected[key]:
                return first_difference(actual[key], expected[key], f"{path}.{key}" if path else key)
    if isinstance(actual, list) and isinstance(expected, list) and len(actual) == len(expected):
        for index, (left, right) in enumerate(zip(actual, expected, strict=True)):
            if left != right:
                return first_difference(left, right, f"{path}[{index}]")
    if isinstance(actual, dict) and isinstance(expected, dict):
        extra, missing = sorted(actual.keys() - expected.keys()), sorted(expected.keys() - actual.keys())
        return f"{path or 'the top'}: keys only in the answer {extra}, only in the expected {missing}"
    return f"{path or 'the top'}: {str(actual)[:200]} != {str(expected)[:200]}"
