"""Files to import for `bench.imports`: a generated CSV in the project's columns, with the
counts its import must produce."""

import csv
import json
import random
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from bench.seeding import LINEUP
from models_registry.choices import Capability, ModelStatus, ModelType
from models_registry.resources import COLUMNS

VARIANTS = ["mini", "pro", "large", "turbo", "flash", "instruct", "v2", "nano", "plus", "lite"]
MODEL_TYPES = (
    [ModelType.CHAT] * 14
    + [ModelType.EMBEDDING] * 2
    + [ModelType.IMAGE_GENERATION, ModelType.AUDIO_SPEECH, ModelType.AUDIO_TRANSCRIPTION, ModelType.RERANK]
    + [ModelType.COMPLETION, ModelType.MODERATION]
)
STATUSES = [ModelStatus.ACTIVE] * 17 + [ModelStatus.DEPRECATED] * 2 + [ModelStatus.INACTIVE]
CONTEXT_WINDOWS = ["4096", "8192", "16384", "32768", "128000", "200000", "1000000", "2000000", ""]
MAX_OUTPUT_TOKENS = ["1024", "4096", "8192", "16384", "65536", ""]
DESCRIPTIONS = [
    "General-purpose model, tuned for chat and tool use.",
    'Fast, low-cost model for "high-volume" classification, extraction and routing.',
    "Long-context model: reads whole contracts, codebases and reports.",
    "Reasoning model; slower, but better at maths, planning and code review.",
    "",
]
REGIONS = ["us", "eu", "uk", "ca", "apac", "jp"]
# Each industry's own settings, valid against its schema (migration 0002).
INDUSTRY_SETTINGS = {
    "general": {},
    "healthcare": {"phi_allowed": False, "requires_baa": True},
    "finance": {"model_risk_tier": "medium", "cardholder_data_allowed": False},
    "legal": {"privileged_data_allowed": False},
    "retail": {},
    "education": {"student_records_allowed": False, "minimum_user_age": 13},
    "government": {"classification_level": "cui"},
    "manufacturing": {"export_controlled_data_allowed": False},
}


@dataclass(frozen=True)
class GeneratedFile:
    path: Path
    rows: int
    providers: int
    profiles: int
    aliases: int


def write_models_csv(path: Path, count: int, seed: int = 20_000) -> GeneratedFile:
    """`count` distinct, valid models in the project's CSV columns, as a spreadsheet would
    hold them: 36 providers, 0-5 capabilities, decimal prices, context windows, statuses
    with deprecation dates, aliases on about a fifth, industry profiles (JSON) on about a
    tenth, metadata (JSON) on all."""
    rng = random.Random(seed)
    lineup = [(slug, family, label) for slug, _, families in LINEUP for family, label in families]
    providers, profiles, aliases = set(), 0, 0
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(COLUMNS)
        for number in range(count):
            slug, family, label = lineup[number % len(lineup)]
            providers.add(slug)
            variant = rng.choice(VARIANTS)
            name = f"{slug}/{family}-{variant}-{number:05d}"
            names = [f"{name}-latest"] if rng.random() < 0.2 else []
            if names and rng.random() < 0.25:
                names.append(f"{family}-{variant}-{number:05d}@{slug}")
            industries = rng.sample(sorted(INDUSTRY_SETTINGS), rng.choice([1, 2])) if rng.random() < 0.1 else []
            status = rng.choice(STATUSES)
            deprecation_date = (
                f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
                if status == ModelStatus.DEPRECATED or rng.random() < 0.05
                else ""
            )
            price = Decimal(rng.randint(1, 15_000_000)).scaleb(-6) if rng.random() < 0.9 else None
            values = {
                "name": name,
                "display_name": f"{label} {variant.title()} {number}",
                "provider": slug,
                "model_type": rng.choice(MODEL_TYPES),
                "capabilities": ",".join(rng.sample(Capability.values, rng.randint(0, 5))),
                "context_window": rng.choice(CONTEXT_WINDOWS),
                "max_output_tokens": rng.choice(MAX_OUTPUT_TOKENS),
                "input_cost_per_million_tokens": format(price, "f") if price is not None else "",
                "output_cost_per_million_tokens": format(price * rng.randint(1, 5), "f") if price is not None else "",
                "status": status,
                "deprecation_date": deprecation_date,
                "sunset_date": f"2027-{rng.randint(1, 12):02d}-01" if deprecation_date and rng.random() < 0.5 else "",
                "successor": "",
                "description": rng.choice(DESCRIPTIONS),
                "aliases": ",".join(names),
                "industries": json.dumps([profile(rng, industry) for industry in industries]) if industries else "",
                "metadata": json.dumps(
                    {
                        "source": "benchmark",
                        "tier": rng.choice(["standard", "premium", "batch"]),
                        "regions": rng.sample(REGIONS, 2),
                        "tokens_per_second": rng.randint(20, 400),
                        "supports_batch": rng.random() < 0.5,
                    }
                ),
            }
            writer.writerow([values[column] for column in COLUMNS])
            profiles += len(industries)
            aliases += len(names)
    return GeneratedFile(path, count, len(providers), profiles, aliases)


def profile(rng: random.Random, industry: str) -> dict:
    settings = {
        "data_residency": sorted(rng.sample(REGIONS, 2)),
        "max_temperature": rng.choice([0.2, 0.5, 0.7, 1.0]),
        "human_review_required": rng.random() < 0.5,
        **INDUSTRY_SETTINGS[industry],
    }
    return {"industry": industry, "enabled": rng.random() < 0.9, "settings": settings}
