"""Benchmarks run by `make bench` (see `run.py`).

Each benchmark is a module with a `run(options)` returning a `harness.Report` (one
baseline and the ratios to it), a `harness.Table` (any columns, one row per case), or a
list of them; it seeds what it needs into the throwaway database `run.py` made and times
its operations with `harness.measure`, checking after every run that the work was really
done. Add a new module to `run.BENCHMARKS` to have it run.

    bulk_status  bulk status change with full audit vs a raw UPDATE
    imports      LiteLLM catalog and a generated CSV imported vs a raw insert (COPY)
    exports      CSV, JSON and XLSX exports: peak memory and time by size
    list_api     GET /api/v1/models through the view stack vs raw SQL + orjson
"""
