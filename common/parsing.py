"""The one parser for typed values from outside: numbers, dates and date-times, strictly.

Every door reads through it: the API's serializer fields (models_registry/api/fields.py),
the admin's and the filters' form fields (below), import cells (resources.py) and command
arguments. Python's own parsers are lenient in ways that get stored: int() and Decimal()
take any script's digits (full-width, Arabic-Indic) and underscores ("1_000"), `\\d` in `re` matches any
script's digits, and Django's parse_date takes "2026-1-1". Here:

- an integer is a JSON number without a fraction (not a bool), or, where text is all a
  door has, a string of ASCII digits with an optional leading "-";
- a decimal is a JSON number (finite), or a string of ASCII digits with an optional "-",
  an optional fraction after a "." and an optional exponent ("1e-5", as JSON and HTML
  number inputs write it);
- a date is YYYY-MM-DD, zero-padded; a date-time is a date, or a date, "T" and
  HH:MM[:SS[.ffffff]], with an optional "Z" or ±HH:MM.

Each parser raises ValueError with the message to show.
"""

import argparse
import datetime
import math
import re
from decimal import Decimal, InvalidOperation

from django import forms

ASCII_INTEGER = re.compile(r"-?[0-9]+\Z")
ASCII_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]{1,4})?\Z")
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
ISO_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?(?:Z|[+-][0-9]{2}:[0-9]{2})?)?\Z"
)
MAX_DIGITS = 100  # a number written longer than this is no number a field holds

WHOLE_NUMBER = "Enter a whole number."
NUMBER = "Enter a number."
DATE = "Enter a date as YYYY-MM-DD."
DATE_TIME = "Enter an ISO 8601 date-time, e.g. 2026-01-31T12:00:00Z, or a date (YYYY-MM-DD)."


def _number_text(value: str, pattern: re.Pattern, message: str) -> str:
    if len(value) > MAX_DIGITS or not pattern.match(value):
        raise ValueError(message)
    return value


def parse_integer(value) -> int:
    """An int from a JSON number without a fraction, or from ASCII digits."""
    if isinstance(value, bool):
        raise ValueError(WHOLE_NUMBER)
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal):
        try:
            whole = int(value)
        except (OverflowError, ValueError, InvalidOperation) as error:  # infinities, NaN
            raise ValueError(WHOLE_NUMBER) from error
        if whole != value:  # 12.5: a fraction
            raise ValueError(WHOLE_NUMBER)
        return whole
    if isinstance(value, str):
        return int(_number_text(value, ASCII_INTEGER, WHOLE_NUMBER))
    raise ValueError(WHOLE_NUMBER)


def parse_decimal(value) -> Decimal:
    """A finite Decimal from a JSON number, or from ASCII digits with an optional fraction."""
    if isinstance(value, bool):
        raise ValueError(NUMBER)
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float | Decimal):
        number = Decimal(repr(value)) if isinstance(value, float) else value
        if not number.is_finite():
            raise ValueError("Enter a finite number.")
        return number
    if isinstance(value, str):
        return Decimal(_number_text(value, ASCII_DECIMAL, NUMBER))
    raise ValueError(NUMBER)


def parse_date(value) -> datetime.date:
    """A date from YYYY-MM-DD (a date object passes: a spreadsheet's date cell)."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if not isinstance(value, str) or not ISO_DATE.match(value):
        raise ValueError(DATE)
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as error:  # 2026-02-30
        raise ValueError(DATE) from error


def parse_datetime(value) -> datetime.datetime:
    """A date-time (naive when it names no offset) from ISO 8601 text, or a date's midnight."""
    if not isinstance(value, str) or not ISO_DATE_TIME.match(value):
        raise ValueError(DATE_TIME)
    try:
        return datetime.datetime.fromisoformat(value)
    except ValueError as error:  # 2026-01-01T25:00
        raise ValueError(DATE_TIME) from error


# The same rules as Django form fields (the admin's forms, the filters' query parameters).


class StrictIntegerField(forms.IntegerField):
    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return parse_integer(value)
        except ValueError as error:
            raise forms.ValidationError(str(error), code="invalid") from error


class StrictDecimalField(forms.DecimalField):
    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return parse_decimal(value)
        except ValueError as error:
            raise forms.ValidationError(str(error), code="invalid") from error


class StrictFloatField(forms.FloatField):
    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            number = float(parse_decimal(value))
        except ValueError as error:
            raise forms.ValidationError(str(error), code="invalid") from error
        if not math.isfinite(number):
            raise forms.ValidationError("Enter a finite number.", code="invalid")
        return number


class StrictDateField(forms.DateField):
    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return parse_date(value)
        except ValueError as error:
            raise forms.ValidationError(str(error), code="invalid") from error


# The same rules as argparse types (command arguments); a refused value exits 2.


def integer_argument(text: str) -> int:
    try:
        return parse_integer(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r}: {error}") from error
