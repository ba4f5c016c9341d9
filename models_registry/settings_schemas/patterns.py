"""Patterns in settings schemas run on RE2, whose matching time is linear in the text:
no pattern and no value can make a match backtrack (Python's `re` takes exponential time
on `^(a+)+$`). A pattern RE2 cannot compile (backreferences, lookarounds) is refused when
the schema is saved."""

import functools

import re2

MAX_PATTERN_MEMORY = 8 << 20  # RE2's own default: a pattern needing more does not compile


def _re2_options() -> re2.Options:
    options = re2.Options()
    options.max_mem = MAX_PATTERN_MEMORY
    options.log_errors = False  # a refused pattern is reported to the caller, not to stderr
    options.never_capture = True  # only "does it match" is asked: no submatches, RE2's fastest engine
    return options


@functools.lru_cache(maxsize=1024)
def compiled_pattern(pattern: str):
    """The pattern compiled by RE2 (linear-time matching); re2.error if RE2 cannot run it."""
    return re2.compile(pattern, _re2_options())


def pattern_problem(pattern) -> str | None:
    if not isinstance(pattern, str):
        return None  # the metaschema reports a pattern that is not a string
    try:
        compiled_pattern(pattern)
    except re2.error as error:
        reason = error.args[0] if error.args else ""
        reason = reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
        return (
            f"The pattern {pattern!r} cannot be used ({reason}): patterns run on RE2, which matches in linear "
            "time and has no backreferences or lookarounds."
        )
    return None


def search(pattern: str, text: str) -> bool:
    return compiled_pattern(pattern).search(text) is not None
