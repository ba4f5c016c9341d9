"""As-of reads (issue 14): a 50-row page of GET /api/v1/models as of an instant, over
`--list-models` models (100,000) with ten historical rows each (1,000,000), beside the same
page of the current state, through the real view stack (django.test.Client, an admin's
API token). Target: the as-of page's p50 under 300 ms on PostgreSQL.

The history is written set-based in SQL: each model's creation and nine changes of its
prices, a day apart (at a per-model second of the day), and the creation rows of its
profiles, dependencies and providers. The instant read is between the sixth and seventh
row of every model, so each model's answer is one row out of ten; every answer is checked
to hold the prices of then.
"""

import datetime
import statistics
import time

from django.db import connection, transaction

from bench.database import tidy
from bench.harness import Table
from bench.list_api import admin_client, price
from bench.seeding import SEED_TIME, SyntheticCatalog, bulk_load
from models_registry.models import AIModel, ModelDependency, ModelIndustryProfile, Provider

TITLE = "GET /api/v1/models as of an instant: a 50-row page over ten history rows per model, beside the current state"
TARGET_MS = 300.0  # the target for the as-of page, on PostgreSQL
PATH = "/api/v1/models"
STEPS = 10  # historical rows per model
DAY_SECONDS = 86_400
PRICE_STEP = 10**9  # 0.1 per million tokens, as the stored integer (1e-10 units)
# Between the sixth and the seventh row of every model (each model's rows are a day apart,
# at its own second of the day).
AS_OF_STEP = 5
AS_OF = SEED_TIME + datetime.timedelta(days=AS_OF_STEP + 1)
AS_OF_PAGE = {"page_size": "50", "as_of": AS_OF.isoformat()}
CASES = [  # (label, query parameters, or the page to walk to from the first)
    ("current state, page 1", {"page_size": "50"}),
    ("current state, cursor page 1", {"page_size": "50", "cursor": ""}),
    ("as of, page 1", AS_OF_PAGE),
    ("as of, page 20 (by its cursor)", 20),
    ("as of, by -context_window", {**AS_OF_PAGE, "ordering": "-context_window"}),
    ("as of, provider=bedrock", {**AS_OF_PAGE, "provider": "bedrock"}),
]
MEASURED = "as of, page 1"


def run(options) -> Table:
    catalog = SyntheticCatalog()
    seeded = catalog.add(options.list_models)
    started = time.perf_counter()
    history_rows = seed_history()
    seeded_history = time.perf_counter() - started
    client = admin_client()
    client.get(PATH)  # the token's first use writes its last_used_at; the measured requests read only
    requests = {label: request_of(client, wanted) for label, wanted in CASES}
    timings: dict[str, list[float]] = {label: [] for label, _ in CASES}
    for label, (path, query) in requests.items():  # warm-up, and the check of what each answers
        check(label, client.get(path, query))
    for _ in range(options.requests):
        for label, (path, query) in requests.items():  # in turn: a slow spell slows every case alike
            start = time.perf_counter()
            response = client.get(path, query)
            timings[label].append(time.perf_counter() - start)
            assert response.status_code == 200, response.content[:300]
    p50 = {label: statistics.median(seconds) * 1000 for label, seconds in timings.items()}
    current = p50["current state, page 1"]
    rows = [
        (label, f"{p50[label]:.1f}", f"{min(timings[label]) * 1000:.1f}", f"{p50[label] / current:.2f}x")
        for label, _ in CASES
    ]
    notes = [
        f"{catalog.count:,} models seeded in {seeded:.1f}s; {history_rows:,} history rows of them in "
        f"{seeded_history:.1f}s ({STEPS} per model, a day apart; their profiles', dependencies' and providers' "
        "creations besides).",
        f"as_of={AS_OF.isoformat()}: each model's sixth row of ten. p50 and best of {options.requests} requests "
        "per case, the cases taken in turn after a checked warm-up.",
    ]
    return Table(TITLE, ("case", "p50 ms", "best ms", "x current"), rows, notes, verdict(p50[MEASURED]))


def request_of(client, wanted) -> tuple[str, dict | None]:
    """(path, query) of a case: its query, or the `next` link `wanted - 1` pages on from the
    as-of list's first page (the link carries the query)."""
    if isinstance(wanted, dict):
        return PATH, wanted
    path, query = PATH, AS_OF_PAGE
    for _ in range(wanted - 1):
        path, query = client.get(path, query).json()["next"], None
    return path, query


def verdict(milliseconds: float) -> str:
    line = f"as-of 50-row page: p50 {milliseconds:.1f} ms (target < {TARGET_MS:g} ms on PostgreSQL)"
    if connection.vendor != "postgresql":
        return f"{line}: not judged on {connection.display_name}"
    return f"{line}: {'MET' if milliseconds < TARGET_MS else 'MISSED'}"


def check(label: str, response) -> None:
    """Every page holds 50 models; as of the instant, each at its price of then."""
    assert response.status_code == 200, (label, response.content[:300])
    results = response.json()["results"]
    assert len(results) == 50, (label, len(results))
    if "as_of" in response.request["QUERY_STRING"] or "as_of" in response.request["PATH_INFO"]:
        expected = {model["id"]: price_as_of(model["id"]) for model in results}
        found = {model["id"]: model["input_cost_per_million_tokens"] for model in results}
        assert found == expected, (label, list(found.items())[:3], list(expected.items())[:3])


def price_as_of(model_id: int) -> str:
    stored = AIModel.objects.filter(pk=model_id).values_list("input_cost_per_million_tokens", flat=True).get()
    scaled = int(stored * 10**10) + AS_OF_STEP * PRICE_STEP
    return price(scaled)


def seed_history() -> int:
    """Ten rows per model (its creation, then a price change a day), and one creation row per
    profile, dependency and provider, in SQL. Returns the models' history rows."""
    with transaction.atomic(), connection.cursor() as cursor:
        history = [model.history.model for model in (AIModel, ModelIndustryProfile, ModelDependency, Provider)]
        with bulk_load(cursor, history):
            cursor.execute(*history_sql(AIModel, steps=STEPS))
            for model in (ModelIndustryProfile, ModelDependency, Provider):
                cursor.execute(*history_sql(model, steps=1))
    tidy(*(model._meta.db_table for model in history))
    return AIModel.history.model._base_manager.count()


def history_sql(model, *, steps: int) -> tuple[str, list]:
    """INSERT ... SELECT of `steps` historical rows per row of `model`: step 0 its creation,
    then changes, each a day after the one before, at the row's own second of the day; a
    model's prices go up a step with each."""
    postgres = connection.vendor == "postgresql"
    history = model.history.model
    quote = connection.ops.quote_name
    offset = f"(k.n * {DAY_SECONDS} + m.id %% {DAY_SECONDS})"
    when = (
        f"CAST(%s AS timestamptz) + {offset} * interval '1 second'"
        if postgres
        else f"strftime('%%Y-%%m-%%d %%H:%%M:%%f', %s, '+' || {offset} || ' seconds')"
    )
    changed = {
        "input_cost_per_million_tokens": f"m.input_cost_per_million_tokens + CAST(k.n AS bigint) * {PRICE_STEP}",
        "version": "k.n + 1",
    }
    columns = [field.attname for field in history.tracked_fields]
    selected = [changed.get(c, f"m.{quote(c)}") if model is AIModel else f"m.{quote(c)}" for c in columns]
    sql = f"""
        INSERT INTO {quote(history._meta.db_table)} (
            {", ".join(quote(c) for c in columns)}, history_date, history_type, history_change_reason,
            history_source, history_request_id, history_username
        )
        WITH RECURSIVE k(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM k WHERE n < %s)
        SELECT {", ".join(selected)}, {when}, CASE WHEN k.n = 0 THEN '+' ELSE '~' END, '', 'cli', 'bench', 'bench'
        FROM {quote(model._meta.db_table)} m, k
    """  # noqa: S608
    first = SEED_TIME - datetime.timedelta(days=1) if model is Provider else SEED_TIME  # providers before their models
    start = connection.ops.adapt_datetimefield_value(first)
    return sql, [steps - 1, start]
