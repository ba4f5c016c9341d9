"""Benchmarks run by `make bench` (see `run.py`).

Each benchmark is a module with a `run(options) -> harness.Report`; it seeds
what it needs into the throwaway database `run.py` made and times its operations with
`harness.measure`. Add a new module to `run.BENCHMARKS` to have it run.
"""
