"""LiteLLM's `model_prices_and_context_window.json`, mapped onto the project's columns.

- `litellm_provider` -> provider (created when missing), `mode` -> model_type (an unknown
  mode becomes `other`, and is kept in metadata as `mode`),
- `max_input_tokens` -> context_window (0 means unknown), `max_output_tokens`,
- `input_cost_per_token` / `output_cost_per_token` -> per-million-token prices, exactly
  (decimal arithmetic; rounded half-even only beyond the 10th decimal place),
- `supports_<capability>` flags -> capabilities (`supports_native_streaming` -> streaming),
- `deprecation_date`, `alias_of` -> an alias of the named model,
- everything else -> metadata, as it was.
"""

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from models_registry.choices import Capability, ModelType
from models_registry.importing.source import SourceRow
from models_registry.resources import json_native

MAPPED_KEYS = {
    "litellm_provider",
    "mode",
    "max_input_tokens",
    "max_output_tokens",
    "input_cost_per_token",
    "output_cost_per_token",
    "deprecation_date",
    "alias_of",
}
CAPABILITY_FLAGS = {f"supports_{capability}": capability for capability in Capability.values}
CAPABILITY_FLAGS["supports_native_streaming"] = Capability.STREAMING
MODEL_TYPES = frozenset(ModelType.values)  # Enum.values builds a new list on every call
TEN_PLACES = Decimal("1e-10")
# The columns a LiteLLM entry sets; the others (status, display name, ...) are left alone.
LITELLM_COLUMNS = {
    "name",
    "provider",
    "model_type",
    "capabilities",
    "context_window",
    "max_output_tokens",
    "input_cost_per_million_tokens",
    "output_cost_per_million_tokens",
    "deprecation_date",
    "metadata",
}


def per_million(cost):
    """A per-token price as a per-million-token price, exactly; bad values pass through
    unchanged, for validation to report."""
    if cost is None or isinstance(cost, bool):
        return cost
    try:
        return (Decimal(str(cost)) * 1_000_000).quantize(TEN_PLACES, rounding=ROUND_HALF_EVEN)
    except (InvalidOperation, ValueError):
        return cost


def token_count(value, *, zero_is_unknown: bool):
    if zero_is_unknown and value == 0:
        return None
    return value


def litellm_cells(name: str, entry: dict) -> dict:
    mode = entry.get("mode")
    metadata = {
        key: json_native(value)
        for key, value in entry.items()
        if key not in MAPPED_KEYS and key not in CAPABILITY_FLAGS
    }
    known = isinstance(mode, str) and mode in MODEL_TYPES  # (a file may hold a list there: unhashable)
    if not known and mode is not None:
        metadata["mode"] = mode
    return {
        "name": name,
        "provider": entry.get("litellm_provider"),
        "model_type": mode if known else ModelType.OTHER,
        "capabilities": sorted({cap for flag, cap in CAPABILITY_FLAGS.items() if entry.get(flag) is True}),
        "context_window": token_count(json_native(entry.get("max_input_tokens")), zero_is_unknown=True),
        "max_output_tokens": token_count(json_native(entry.get("max_output_tokens")), zero_is_unknown=False),
        "input_cost_per_million_tokens": per_million(entry.get("input_cost_per_token")),
        "output_cost_per_million_tokens": per_million(entry.get("output_cost_per_token")),
        "deprecation_date": entry.get("deprecation_date"),
        "metadata": metadata,
    }


def litellm_rows(catalog: dict):
    rows = []
    for name, entry in catalog.items():
        ref = f"key {name!r}"
        if not isinstance(entry, dict):
            rows.append(SourceRow(ref, {"__all__": "Each entry must be a JSON object."}))
        elif entry.get("alias_of") is not None:
            rows.append(SourceRow(ref, {"name": name}, alias_of=str(entry["alias_of"])))
        else:
            rows.append(SourceRow(ref, litellm_cells(name, entry)))
    return rows, set(LITELLM_COLUMNS)
