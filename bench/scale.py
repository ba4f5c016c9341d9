"""The scale scenario (`--scale N`, not run unless asked): N models and
ten times as many audit entries, then every request of issue 12's table timed through the
real view stack, and the peak memory of gunicorn's workers while 10 clients read the big
list endpoints at once.

Seeding is set-based SQL and untimed (its duration is printed): `SyntheticCatalog` with
`skewed=True` (the lineup's first provider holds about a third of the models; a tenth
deprecated, a fifth with an alias, industry profiles on every tenth, dependencies on every
25th and 50th), three models whose names hold the rare word "quokka", and the audit
entries by INSERT ... SELECT over a generated series: spread over two years, 25 users, the
registry's object types and doors. The audit entries are not linked into the audit chain
(`verify_audit_log` would report them): only reading them is measured here.

Each request runs `--scale-requests` times (20) through django.test.Client, as an
administrator signed in to the admin or with an API token; a streamed body is read to its
end. p50 and p95 are printed beside the target: 100 ms for the common requests (a first
page, one filter, a search that matches few), 300 ms for the rest; MISSED where over.
`/v1/models` and the whole selection list are one body of every model (the OpenAI SDKs
take no pages): their time to the first byte is held to the target, the whole body is
printed for the record, and their memory is what the concurrency run measures.

Issue 12 holds PostgreSQL to the targets at 1,000,000 models and SQLite at 100,000.
"""

import datetime
import statistics
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Count
from django.test import Client

from accounts.services import api_token_create
from audit.choices import ChangeSource
from audit.models import AuditEntry
from bench.database import tidy
from bench.harness import Table
from bench.seeding import SyntheticCatalog, bulk_load
from llm_admin.tests import servers
from models_registry.admin.aimodels import AIModelAdmin
from models_registry.models import AIModel, Provider
from models_registry.services import aimodel_create, aimodel_update

COMMON_MS, OTHER_MS = 100, 300
MEMORY_TARGET_MB = 300
CLIENTS = 10
AUDIT_PER_MODEL = 10
AUDIT_CHUNK = 1_000_000
USERS = 25
RARE = "quokka"
HOST = "localhost"
ADMIN = "/admin/models_registry/aimodel/"
AUDIT_ADMIN = "/admin/audit/auditentry/"


@dataclass(frozen=True)
class Case:
    label: str
    path: str
    common: bool
    door: str = "api"  # "api" (a token) or "admin" (a session)
    first_byte: bool = False  # one body of everything: its first byte is what is held to the target
    write_before: bool = False  # a model changes (untimed) before each request


def run(options) -> list[Table]:
    if not options.scale:
        return [Table("Scale scenario", ("skipped",), [("not asked for: --scale N (e.g. --scale 1000000)",)])]
    seeded = seed(options.scale)
    top = largest_provider()
    user = get_user_model().objects.create_superuser("bench-scale", password="unused-bench-password")  # noqa: S106
    key = api_token_create(user=user, name="scale bench")[1]
    api, admin = Client(SERVER_NAME=HOST, HTTP_AUTHORIZATION=f"Bearer {key}"), Client(SERVER_NAME=HOST)
    admin.force_login(user)
    results = [time_cases(cases(top, options.scale), api, admin, options.scale_requests)]
    results.append(memory_under_clients(user))
    results[0].notes = [*seeded, *results[0].notes]
    return results


def largest_provider() -> Provider:
    counted = AIModel.objects.values("provider").order_by().annotate(n=Count("pk")).order_by("-n").first()
    return Provider.objects.get(pk=counted["provider"])


def cases(top: Provider, count: int) -> list[Case]:
    context_window = 1 + AIModelAdmin.list_display.index("context_window")  # the admin's o= counts from 1
    deep = min(2000, count // 2 // AIModelAdmin.list_per_page)  # page 2,000 of a million, the middle of less
    return [
        Case("API list, first page of 50", "/api/v1/models?page_size=50", common=True),
        Case(f"API list, page {deep:,} of 100", f"/api/v1/models?page_size=100&page={deep}", common=False),
        Case("API list, by cursor", "/api/v1/models?page_size=50&cursor=", common=True),
        Case(f"API one provider ({top.slug})", f"/api/v1/models?page_size=50&provider={top.slug}", common=True),
        Case(f"API search={RARE} (3 hits)", f"/api/v1/models?search={RARE}", common=True),
        Case("API search=gpt", "/api/v1/models?search=gpt&page_size=50", common=False),
        Case("API sort by -context_window", "/api/v1/models?ordering=-context_window&page_size=50", common=False),
        # Sorts no index serves (a top-N sort of the whole table): what they cost is on record.
        Case("API sort by status", "/api/v1/models?ordering=status&page_size=50", common=False),
        Case(
            "API sort by -input price",
            "/api/v1/models?ordering=-input_cost_per_million_tokens&page_size=50",
            common=False,
        ),
        Case("API sort by -created_at", "/api/v1/models?ordering=-created_at&page_size=50", common=False),
        Case("API options, search as you type", "/api/v1/models/options?search=gpt&limit=20", common=True),
        Case("API options, the whole list", "/api/v1/models/options", common=False, first_byte=True),
        Case("/v1/models", "/v1/models", common=False, first_byte=True),
        Case("API audit log, first page", "/api/v1/audit?page_size=50", common=True),
        Case("admin model list", ADMIN, common=True, door="admin"),
        Case("admin search=gpt", f"{ADMIN}?q=gpt", common=False, door="admin"),
        Case(f"admin search={RARE}", f"{ADMIN}?q={RARE}", common=True, door="admin"),
        Case("admin sort by context window", f"{ADMIN}?o=-{context_window}", common=False, door="admin"),
        Case(f"admin one provider ({top.slug})", f"{ADMIN}?provider__id__exact={top.pk}", common=True, door="admin"),
        Case(f"admin page {deep:,}", f"{ADMIN}?p={deep}", common=False, door="admin"),
        Case("admin audit log", AUDIT_ADMIN, common=True, door="admin"),
        Case("admin audit log, one user", f"{AUDIT_ADMIN}?user=user-3", common=False, door="admin"),
        Case("admin dashboard after a write", "/admin/", common=False, door="admin", write_before=True),
    ]


def time_cases(all_cases: list[Case], api: Client, admin: Client, repeat: int) -> Table:
    rows, missed = [], []
    changed = AIModel.objects.order_by("pk").first()
    for case in all_cases:
        client = admin if case.door == "admin" else api
        first_bytes, wholes = [], []
        for run in range(repeat + 1):  # the first run warms the caches and is not counted
            if case.write_before:
                changed = aimodel_update(model=changed, actor=None, description=f"scale bench write {run}")
            started = time.perf_counter()
            response = client.get(case.path)
            first = time.perf_counter() - started
            body = b"".join(response.streaming_content) if response.streaming else response.content
            whole = time.perf_counter() - started
            if response.status_code != 200:
                raise AssertionError(f"{case.label}: {response.status_code} {body[:300]!r}")
            if run:
                first_bytes.append(first)
                wholes.append(whole)
        held = first_bytes if case.first_byte else wholes
        target = COMMON_MS if case.common else OTHER_MS
        p50, p95 = percentile(held, 50) * 1000, percentile(held, 95) * 1000
        verdict = "met" if p50 <= target else "MISSED"
        if verdict == "MISSED":
            missed.append(case.label)
        rows.append(
            (
                case.label,
                "first byte" if case.first_byte else "whole",
                f"{p50:.0f}",
                f"{p95:.0f}",
                f"{target}",
                verdict,
                f"{statistics.median(wholes) * 1000:.0f}",
                f"{len(body) / 2**20:.1f}",
            )
        )
    return Table(
        title=f"Scale: every request of issue 12's table, p50/p95 of {repeat} (ms)",
        headers=("request", "held", "p50", "p95", "target", "", "whole p50", "MiB"),
        rows=rows,
        notes=["django.test.Client in this process: every middleware, authentication, the view, the renderer"],
        verdict=f"{len(rows) - len(missed)} of {len(rows)} met" + (f"; MISSED: {', '.join(missed)}" if missed else ""),
    )


def memory_under_clients(user) -> Table:
    """Peak resident memory of gunicorn's workers (2 workers, as in the issue's run) while
    CLIENTS clients each read /v1/models and the whole selection list three times."""
    key = api_token_create(user=user, name="scale memory")[1]
    models = AIModel.objects.count()
    headers = {"Authorization": f"Bearer {key}"}
    errors: list[str] = []
    with servers.gunicorn(servers.current_database_url(), config=True, workers=2, API_RATE_LIMIT="none") as port:

        def client():
            for _ in range(3):
                for path in ("/v1/models", "/api/v1/models/options"):
                    status, _, body = servers.request(port, "GET", path, headers=headers)
                    if status != 200 or len(body) < models:
                        errors.append(f"{path}: {status}, {len(body)} bytes")

        started = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
        peaks = {pid: peak_mb(pid) for pid in serving_processes(port)}
    if not peaks:
        raise RuntimeError(f"no gunicorn process found serving port {port}")
    worst = max(peaks.values())
    return Table(
        title=f"Scale: gunicorn (2 workers) while {CLIENTS} clients read /v1/models and the whole selection list",
        headers=("process", "peak RSS (MiB)"),
        rows=[(str(pid), f"{mb:.0f}") for pid, mb in sorted(peaks.items())],
        notes=[f"{CLIENTS * 6} whole-catalog bodies in {seconds:.0f}s; errors: {errors[:3] or 'none'}"],
        verdict=f"largest peak {worst:.0f} MiB (target <= {MEMORY_TARGET_MB} MiB per worker): "
        + ("met" if worst <= MEMORY_TARGET_MB and not errors else "MISSED"),
    )


def serving_processes(port: int) -> list[int]:
    """gunicorn's master and workers for `port`: their command line names the port, or, once
    setproctitle has retitled them, their title names it (servers.gunicorn's `--name`)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"gunicorn" in command and (
                f"127.0.0.1:{port}".encode() in command or f"[llm_admin-{port}]".encode() in command
            ):
                found.append(int(entry.name))
    return found


def peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def seed(count: int) -> list[str]:
    started = time.perf_counter()
    catalog = SyntheticCatalog(skewed=True)
    catalog.add(count)
    models_seconds = time.perf_counter() - started
    provider = Provider.objects.create(slug="zoo", name="Zoo")
    for number in range(3):
        aimodel_create(name=f"zoo/{RARE}-{number}", provider=provider, actor=None)
    started = time.perf_counter()
    entries = seed_audit_entries(count * AUDIT_PER_MODEL)
    audit_seconds = time.perf_counter() - started
    return [
        f"Seeded {count:,} models in {models_seconds:.0f}s and {entries:,} audit entries in {audit_seconds:.0f}s "
        "(set-based SQL, indexes built after the load; untimed)."
    ]


def seed_audit_entries(count: int) -> int:
    """`count` audit entries over the seeded models, two years back from now."""
    models = AIModel.objects.count()
    table = AuditEntry._meta.db_table
    postgres = connection.vendor == "postgresql"
    sources = " ".join(  # constants, no outside input
        f"WHEN {k} THEN '{source}'" for k, source in enumerate(ChangeSource.values)
    )
    now = datetime.datetime.now(tz=datetime.UTC)
    if postgres:
        series = "SELECT generate_series(CAST(%s AS bigint), CAST(%s AS bigint))"
        timestamp = "%s - make_interval(secs => (%s - i) * 6.3)"
        changes = """CAST('{"status": {"old": "active", "new": "deprecated"}}' AS jsonb)"""
    else:
        series = "SELECT %s UNION ALL SELECT i + 1 FROM seq WHERE i < %s"
        timestamp = "datetime(%s, '-' || CAST((%s - i) * 6.3 AS integer) || ' seconds')"
        changes = """'{"status": {"old": "active", "new": "deprecated"}}'"""
        now = now.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S")
    with transaction.atomic(), connection.cursor() as cursor, bulk_load(cursor, [AuditEntry]):
        for first in range(1, count + 1, AUDIT_CHUNK):
            last = min(count, first + AUDIT_CHUNK - 1)
            cursor.execute(
                f"""INSERT INTO {table} (timestamp, user_id, username, action, object_type, object_id, object_repr,
                        parent_type, parent_id, parent_repr, changes, reason, source, request_id, event_type,
                        provider_id)
                WITH RECURSIVE seq(i) AS ({series})
                SELECT {timestamp},
                       NULL, 'user-' || (i %% {USERS}), 'update', 'aimodel', ((i * 7919) %% {models}) + 1,
                       'model-' || (((i * 7919) %% {models}) + 1), '', '', '',
                       {changes}, '',
                       CASE i %% {len(ChangeSource.values)} {sources} END, 'req-' || (i / 3), 'model.updated',
                       NULL
                FROM seq""",  # noqa: S608
                [first, last, now, count],
            )
    analyze_log()
    return count


def analyze_log() -> None:
    tidy(AuditEntry._meta.db_table)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]
