"""One export in a fresh process, for `bench.exports`: a process's peak memory only says
something about an export when nothing else ran in that process before it.

    python -m bench.export_worker FORMAT LAST_ID PATH

Exports the models with id <= LAST_ID through `models_registry.exporting.WRITERS[FORMAT]`
to PATH, in the database DATABASE_URL names, and prints one JSON line: the rows written,
the seconds, the resident memory when the export starts and its peak during the export.

The peak is the kernel's high-water mark of this process image (VmHWM), reset just before
the export (/proc/self/clear_refs). Not getrusage's ru_maxrss: that one survives exec and
so reports the parent's size at fork when the parent was larger.
"""

import gc
import io
import json
import os
import sys
import time
from pathlib import Path

WARM_UP_MODELS = 20


def memory_mb(key: str) -> float:
    """VmRSS (resident now) or VmHWM (peak resident) of this process, in MiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{key}:"):
                return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"{key} not in /proc/self/status")


def reset_peak() -> bool:
    """Start the peak over from the current size (Linux 4.0+); False when not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def main(argv: list[str]) -> int:
    fmt, last_id, path = argv[0], int(argv[1]), Path(argv[2])
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "llm_admin.test_settings")
    import django

    django.setup()
    import openpyxl  # noqa: F401  (loaded before the baseline: importing it is not the export's memory)

    from models_registry.exporting import WRITERS
    from models_registry.models import AIModel

    writer = WRITERS[fmt]
    # A small export first, through the same writer: code paths, the connection and Django's
    # caches are loaded before the baseline is taken.
    writer(AIModel.objects.filter(pk__lte=WARM_UP_MODELS), io.BytesIO() if fmt == "xlsx" else io.StringIO())
    gc.collect()
    peak_reset = reset_peak()
    baseline = memory_mb("VmRSS")
    mode, encoding = ("wb", None) if fmt == "xlsx" else ("w", "utf-8")
    started = time.perf_counter()
    with path.open(mode, encoding=encoding, newline="" if encoding else None) as stream:
        count = writer(AIModel.objects.filter(pk__lte=last_id), stream)
    seconds = time.perf_counter() - started
    peak = memory_mb("VmHWM")
    measured = {"count": count, "seconds": seconds, "baseline_mb": baseline, "peak_mb": peak, "reset": peak_reset}
    print(json.dumps(measured))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
