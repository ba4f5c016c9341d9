"""Registry data for benchmarks, written set-based: seeding is never timed."""

import datetime
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils import timezone

from audit.append_only import install_append_only_triggers
from audit.choices import ChangeSource
from audit.context import change_context
from audit.history import snapshot_changes
from audit.models import AuditChainHead, AuditEntry, AuditLink
from audit.writer import ObjectChange, record_changes
from bench.database import tidy
from models_registry.folding import fold
from models_registry.models import (
    AIModel,
    Industry,
    ModelDependency,
    ModelIndustryProfile,
    Provider,
    RegisteredName,
    ScheduledChange,
)

BATCH_SIZE = 1000
# The registry's own tables and the log rows about them; industries (from the migrations),
# users and the catalog version stay.
REGISTRY_MODELS = [AIModel, RegisteredName, ModelIndustryProfile, ModelDependency, ScheduledChange, Provider]
AUDITED_MODELS = [AIModel, ModelIndustryProfile, ModelDependency, Provider]


def empty_registry() -> None:
    """No providers or models, nor any history row, audit entry or chain link: an empty
    registry, with ids starting from 1 again. TRUNCATE on PostgreSQL, with the log tables'
    TRUNCATE guard lifted for this transaction of the throwaway database; DELETE on SQLite."""
    models = [*REGISTRY_MODELS, *(model.history.model for model in AUDITED_MODELS), AuditEntry, AuditLink]
    tables = [model._meta.db_table for model in [*models, AuditChainHead]]
    statements = connection.ops.sql_flush(no_style(), tables, reset_sequences=True)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for model in models:
                cursor.execute(
                    f"DROP TRIGGER IF EXISTS llm_admin_no_truncate ON {connection.ops.quote_name(model._meta.db_table)}"
                )
        for statement in statements:
            cursor.execute(statement)
        install_append_only_triggers()


def seed_models(count: int) -> list[int]:
    """`count` active models of one provider, each with a distinct lowercase name, the
    registered name that claims it, a creation history row and audit entry, as the create
    service would leave them. Returns their ids in order."""
    with change_context(source=ChangeSource.CLI, reason="benchmark seed"), transaction.atomic():
        provider = Provider.objects.create(slug="bench", name="Bench")
        names = [f"bench-model-{number:06d}" for number in range(count)]
        AIModel.objects.bulk_create([AIModel(name=name, provider=provider) for name in names], batch_size=BATCH_SIZE)
        models = AIModel.objects.filter(provider=provider)
        claims = [RegisteredName(name=fold(name), model_id=pk) for pk, name in models.values_list("pk", "name")]
        RegisteredName.objects.bulk_create(claims, batch_size=BATCH_SIZE)
        history = AIModel.history.model
        created = [ObjectChange(model, snapshot_changes(history, model, created=True)) for model in models]
        record_changes(AIModel, "+", created, timezone.now())
    return list(models.order_by("pk").values_list("pk", flat=True))


# (provider slug, provider name, [(family, display label), ...]): who serves what.
LINEUP = [
    ("openai", "OpenAI", [("gpt", "GPT"), ("o", "o-series"), ("text-embedding", "Text Embedding")]),
    ("anthropic", "Anthropic", [("claude", "Claude")]),
    ("vertex_ai", "Google Vertex AI", [("gemini", "Gemini"), ("claude", "Claude"), ("imagen", "Imagen")]),
    ("gemini", "Google AI Studio", [("gemini", "Gemini"), ("gemma", "Gemma")]),
    ("bedrock", "Amazon Bedrock", [("claude", "Claude"), ("titan", "Titan"), ("llama", "Llama"), ("nova", "Nova")]),
    ("azure", "Azure OpenAI", [("gpt", "GPT"), ("o", "o-series"), ("phi", "Phi")]),
    ("mistral", "Mistral AI", [("mistral", "Mistral"), ("codestral", "Codestral"), ("pixtral", "Pixtral")]),
    ("cohere", "Cohere", [("command", "Command"), ("embed", "Embed"), ("rerank", "Rerank")]),
    ("groq", "Groq", [("llama", "Llama"), ("qwen", "Qwen")]),
    ("together_ai", "Together AI", [("llama", "Llama"), ("qwen", "Qwen"), ("deepseek", "DeepSeek")]),
    ("fireworks_ai", "Fireworks AI", [("llama", "Llama"), ("mixtral", "Mixtral"), ("qwen", "Qwen")]),
    ("deepseek", "DeepSeek", [("deepseek", "DeepSeek")]),
    ("xai", "xAI", [("grok", "Grok")]),
    ("perplexity", "Perplexity", [("sonar", "Sonar")]),
    ("openrouter", "OpenRouter", [("claude", "Claude"), ("gpt", "GPT"), ("llama", "Llama")]),
    ("replicate", "Replicate", [("llama", "Llama"), ("flux", "FLUX")]),
    ("huggingface", "Hugging Face", [("zephyr", "Zephyr"), ("falcon", "Falcon")]),
    ("ollama", "Ollama", [("llama", "Llama"), ("mistral", "Mistral")]),
    ("databricks", "Databricks", [("dbrx", "DBRX"), ("llama", "Llama")]),
    ("sagemaker", "Amazon SageMaker", [("llama", "Llama")]),
    ("watsonx", "IBM watsonx", [("granite", "Granite")]),
    ("cloudflare", "Cloudflare Workers AI", [("llama", "Llama")]),
    ("deepinfra", "DeepInfra", [("llama", "Llama"), ("qwen", "Qwen")]),
    ("nvidia_nim", "NVIDIA NIM", [("nemotron", "Nemotron")]),
    ("ai21", "AI21 Labs", [("jamba", "Jamba")]),
    ("voyage", "Voyage AI", [("voyage", "Voyage")]),
    ("jina_ai", "Jina AI", [("jina-embeddings", "Jina Embeddings")]),
    ("aleph_alpha", "Aleph Alpha", [("luminous", "Luminous")]),
    ("baseten", "Baseten", [("llama", "Llama")]),
    ("friendliai", "FriendliAI", [("llama", "Llama")]),
    ("cerebras", "Cerebras", [("llama", "Llama")]),
    ("sambanova", "SambaNova", [("llama", "Llama"), ("deepseek", "DeepSeek")]),
    ("lambda_ai", "Lambda", [("hermes", "Hermes")]),
    ("anyscale", "Anyscale", [("mistral", "Mistral")]),
    ("nlp_cloud", "NLP Cloud", [("dolphin", "Dolphin")]),
    ("predibase", "Predibase", [("llama", "Llama")]),
]
CAPABILITY_SETS = [  # sorted, as the model's clean() leaves them
    '["function_calling","streaming","system_messages","tool_choice","vision"]',
    '["function_calling","streaming"]',
    '["prompt_caching","reasoning","response_schema","streaming","vision"]',
    "[]",
    '["streaming","system_messages"]',
    '["audio_input","audio_output","streaming"]',
    '["function_calling","parallel_function_calling","pdf_input","tool_choice","vision"]',
    '["reasoning","web_search"]',
]
PROFILE_SETTINGS = '{"data_residency":["eu","us"],"human_review_required":true,"max_temperature":0.7}'
SEED_TIME = datetime.datetime(2025, 6, 1, 12, 0, tzinfo=datetime.UTC)
SEED_DEPRECATION = datetime.date(2026, 3, 31)


class SyntheticCatalog:
    """A large registry written directly in SQL, set-based (INSERT ... SELECT over
    generate_series on PostgreSQL, over a recursive CTE on SQLite), not through the services:
    36 providers, model names like `bedrock/claude-4711`, capabilities, prices, context
    windows, statuses, aliases (every 5th model) with the registered names that claim
    them, two industry profiles on every 10th model and dependencies on every 25th and 50th.
    No history rows or audit entries: what is measured on it only reads.

    `add(n)` appends n more models (ids continue), so a small catalog can grow into a large one.
    `skewed` spreads them over the lineup as real catalogs are spread, a few providers
    holding most models: the lineup's k-th entry takes the models whose
    hashed number u in [0, 1) has floor(len * u**4) = k, a third of them for the first.
    """

    def __init__(self, *, skewed: bool = False):
        self.count = 0
        self.seconds = 0.0
        self.skewed = skewed

    def add(self, count: int) -> float:
        """Seed `count` more models; returns the seconds it took."""
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            if self.count == 0:
                empty_registry()
                Provider.objects.bulk_create([Provider(slug=slug, name=name) for slug, name, _ in LINEUP])
            last_id = AIModel.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            with bulk_load(cursor, [AIModel, RegisteredName, ModelIndustryProfile, ModelDependency]):
                cursor.execute(*self._models_sql(self.count + 1, self.count + count))
                for statement in self._parts_sql(last_id):
                    cursor.execute(*statement)
        self.count += count
        analyze()
        elapsed = time.perf_counter() - started
        self.seconds += elapsed
        return elapsed

    def _models_sql(self, first: int, last: int) -> tuple[str, list]:
        postgres = connection.vendor == "postgresql"
        providers = dict(Provider.objects.values_list("slug", "pk"))
        lineup = [(providers[slug], family, label) for slug, _, families in LINEUP for family, label in families]
        # Literals come from the constants above only (no outside input); values go as parameters.
        # `%%` is a modulo: Django's cursors take %s placeholders on every backend.
        lineup_rows = ", ".join(f"({k}, {pk}, '{family}', '{label}')" for k, (pk, family, label) in enumerate(lineup))
        caps_rows = ", ".join(f"({k}, '{value}')" for k, value in enumerate(CAPABILITY_SETS))
        series = (
            "SELECT generate_series(%s, %s)" if postgres else "SELECT %s UNION ALL SELECT i + 1 FROM seq WHERE i < %s"
        )

        def as_json(expression: str) -> str:
            return f"CAST({expression} AS jsonb)" if postgres else expression

        lineup_entry = f"seq.i %% {len(lineup)}"
        if self.skewed:
            share = "((CAST(seq.i AS bigint) * 7919) %% 1000003) / 1000003.0"  # u in [0, 1), hashed
            skew = f"{len(lineup)} * {share} * {share} * {share} * {share}"
            lineup_entry = f"CAST(floor({skew}) AS integer)" if postgres else f"CAST({skew} AS integer)"
        name = "p.slug || '/' || l.family || '-' || seq.i"
        tier = "CASE WHEN seq.i %% 3 = 0 THEN 'premium' ELSE 'standard' END"
        metadata = as_json("""'{"source":"bench","tier":"' || """ + tier + """ || '","seed":' || seq.i || '}'""")
        aliases = as_json("""CASE WHEN seq.i %% 5 = 0 THEN '["' || """ + name + """ || '-latest"]' ELSE '[]' END""")
        display_name = "l.label || ' ' || seq.i"
        description = "'Synthetic benchmark model ' || seq.i || ' (' || l.label || ', served by ' || p.name || ').'"
        # What FoldedTextField.folded() gives for these ASCII texts: the sources, lowered, joined by
        # its separator (the alias list contributes its items, none when empty).
        separator = "chr(31)" if postgres else "char(31)"
        alias_part = f"CASE WHEN seq.i %% 5 = 0 THEN {separator} || {name} || '-latest' ELSE '' END"
        search_text = f"lower({name} || {separator} || {display_name} || {alias_part} || {separator} || {description})"
        sql = f"""
            INSERT INTO {AIModel._meta.db_table} (
                name, display_name, provider_id, model_type, capabilities, context_window, max_output_tokens,
                input_cost_per_million_tokens, output_cost_per_million_tokens, status, deprecation_date,
                description, metadata, aliases, search_text, created_at, updated_at, created_by, updated_by, version
            )
            WITH RECURSIVE seq(i) AS ({series}),
                lineup(k, provider_id, family, label) AS (VALUES {lineup_rows}),
                caps(k, value) AS (VALUES {caps_rows})
            SELECT
                {name},
                {display_name},
                l.provider_id,
                CASE WHEN seq.i %% 20 = 7 THEN 'embedding' WHEN seq.i %% 50 = 9 THEN 'image_generation'
                     WHEN seq.i %% 50 = 19 THEN 'audio_speech' ELSE 'chat' END,
                {as_json("caps.value")},
                CASE WHEN seq.i %% 97 = 0 THEN NULL ELSE
                    CASE seq.i %% 7 WHEN 0 THEN 8192 WHEN 1 THEN 32768 WHEN 2 THEN 128000 WHEN 3 THEN 200000
                                    WHEN 4 THEN 1000000 WHEN 5 THEN 2000000 ELSE 16384 END END,
                CASE seq.i %% 5 WHEN 0 THEN 4096 WHEN 1 THEN 8192 WHEN 2 THEN 16384 WHEN 3 THEN 65536 ELSE NULL END,
                ((seq.i * 37) %% 6000 + 1) * CAST(25000000 AS bigint),
                ((seq.i * 37) %% 6000 + 1) * CAST(100000000 AS bigint),
                CASE WHEN seq.i %% 10 = 0 THEN 'deprecated' WHEN seq.i %% 25 = 1 THEN 'inactive' ELSE 'active' END,
                CASE WHEN seq.i %% 10 = 0 THEN %s ELSE NULL END,
                {description},
                {metadata},
                {aliases},
                {search_text},
                %s, %s, 'bench', 'bench', 1
            FROM seq
            JOIN lineup l ON l.k = {lineup_entry}
            JOIN caps ON caps.k = seq.i %% {len(CAPABILITY_SETS)}
            JOIN {Provider._meta.db_table} p ON p.id = l.provider_id
        """  # noqa: S608
        ops = connection.ops
        stamp = ops.adapt_datetimefield_value(SEED_TIME)
        return sql, [first, last, ops.adapt_datefield_value(SEED_DEPRECATION), stamp, stamp]

    def _parts_sql(self, last_id: int) -> list[tuple[str, list]]:
        postgres = connection.vendor == "postgresql"
        models, names = AIModel._meta.db_table, RegisteredName._meta.db_table
        profiles, dependencies = ModelIndustryProfile._meta.db_table, ModelDependency._meta.db_table
        industries, industry_count = Industry._meta.db_table, Industry.objects.count()
        alias_source = "jsonb_array_elements_text(m.aliases) AS a(value)" if postgres else "json_each(m.aliases) AS a"
        settings = f"CAST('{PROFILE_SETTINGS}' AS jsonb)" if postgres else f"'{PROFILE_SETTINGS}'"
        stamp = connection.ops.adapt_datetimefield_value(SEED_TIME)
        return [
            (f"INSERT INTO {names} (name, model_id) SELECT lower(name), id FROM {models} WHERE id > %s", [last_id]),  # noqa: S608
            (
                f"INSERT INTO {names} (name, model_id) SELECT lower(a.value), m.id FROM {models} m, {alias_source} "  # noqa: S608
                "WHERE m.id > %s",
                [last_id],
            ),
            (
                f"""INSERT INTO {profiles} (model_id, industry_id, enabled, settings)
                SELECT m.id, ind.id, m.id %% 30 <> 0, {settings}
                FROM {models} m
                JOIN (SELECT id, ROW_NUMBER() OVER (ORDER BY slug) - 1 AS k FROM {industries}) ind
                  ON ind.k = (m.id / 10) %% {industry_count} OR ind.k = (m.id / 10 + 3) %% {industry_count}
                WHERE m.id > %s AND m.id %% 10 = 0""",  # noqa: S608
                [last_id],
            ),
            (
                f"""INSERT INTO {dependencies}
                    (model_id, component_type, component_id, component_name, owner, registered_at, registered_by)
                SELECT id, 'agent', 'agent-' || id, 'Support agent ' || id, 'support-team', %s, 'bench'
                FROM {models} WHERE id > %s AND id %% 25 = 0
                UNION ALL
                SELECT id, 'workflow', 'workflow-' || id, 'Nightly workflow ' || id, '', %s, 'bench'
                FROM {models} WHERE id > %s AND id %% 50 = 0""",  # noqa: S608
                [stamp, last_id, stamp, last_id],
            ),
        ]


@contextmanager
def bulk_load(cursor, models) -> Iterator[None]:
    """On PostgreSQL, load the way bulk loads are done: the tables' plain indexes dropped and
    built again afterwards (in one pass each, which is several times faster than row by row),
    and the foreign-key triggers off for this transaction (the seed's rows are consistent by
    construction). Primary keys and unique constraints stay. Elsewhere, nothing changes."""
    if connection.vendor != "postgresql":
        yield
        return
    cursor.execute("SET LOCAL session_replication_role = replica")
    cursor.execute(
        """SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)""",
        [[model._meta.db_table for model in models]],
    )
    indexes = cursor.fetchall()
    for name, _ in indexes:
        cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    yield
    for _, definition in indexes:
        cursor.execute(definition)
    cursor.execute("SET LOCAL session_replication_role = DEFAULT")


def analyze() -> None:
    """Fresh planner statistics (and, on PostgreSQL, a visibility map) for the registry tables."""
    tidy(*(model._meta.db_table for model in REGISTRY_MODELS))
