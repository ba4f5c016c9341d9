"""Keyset positions for cursor pagination: where a page starts, as the sort key values of a row
(the ordering's columns, then the primary key), and the condition that selects what comes
after it. Unlike an OFFSET, a position does not move when rows are added or removed before
it, and a deep page costs what the first does.

NULLs sort where the database puts them (PostgreSQL: after every value when ascending;
SQLite: before), so a cursor walks rows in exactly the order page numbers list them.
"""

import base64
import binascii
import datetime
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import reduce
from operator import or_

import orjson
from django.db import connections, models
from django.db.models import Q, QuerySet
from django.db.models.constants import LOOKUP_SEP

NOT_A_CURSOR = "Not a cursor this list gave: start again with an empty `cursor`."
OTHER_ORDERING = "This cursor is for another ordering: start again with an empty `cursor`."


@dataclass(frozen=True)
class SortKey:
    path: str  # as order_by takes it: "name", "provider__slug", "pk"
    descending: bool
    field: models.Field

    @property
    def term(self) -> str:
        return f"-{self.path}" if self.descending else self.path

    def reversed(self) -> "SortKey":
        return SortKey(self.path, not self.descending, self.field)


def sort_keys(queryset: QuerySet) -> list[SortKey]:
    """The keys `queryset` is ordered by (its `order_by` names fields), ending with the
    primary key, which makes the order total."""
    keys: dict[str, SortKey] = {}
    for term in [*queryset.query.order_by, "pk"]:
        if not isinstance(term, str):
            raise TypeError(f"Keyset pagination orders by field names, not {term!r}.")
        path = term.removeprefix("-")
        if path == queryset.model._meta.pk.name:
            path = "pk"
        keys.setdefault(path, SortKey(path, term.startswith("-"), _field(queryset.model, path)))
        if path == "pk":
            break  # unique: anything after it never decides
    return list(keys.values())


def _field(model, path: str) -> models.Field:
    options = model._meta
    *relations, last = path.split(LOOKUP_SEP)
    for name in relations:
        options = options.get_field(name).related_model._meta
    return options.pk if last == "pk" else options.get_field(last)


@dataclass(frozen=True)
class Position:
    """A place between rows: just after the row with these key values (or, `backwards`, just
    before it); `inclusive` takes that row in too."""

    values: tuple
    backwards: bool = False
    inclusive: bool = False


def encode(keys: list[SortKey], position: Position) -> str:
    document = {
        "k": [key.term for key in keys],
        "v": [_plain(value) for value in position.values],
        "b": position.backwards,
        "i": position.inclusive,
    }
    return base64.urlsafe_b64encode(orjson.dumps(document)).rstrip(b"=").decode()


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.date):  # datetimes too
        return value.isoformat()
    return value


def decode(keys: list[SortKey], cursor: str, *, using: str = "default") -> Position:
    """The position `cursor` names, for a list ordered by `keys`; ValueError saying why not."""
    try:
        document = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError) as error:  # not base64, not JSON, not ASCII
        raise ValueError(NOT_A_CURSOR) from error
    if not (
        isinstance(document, dict)
        and set(document) == {"k", "v", "b", "i"}
        and isinstance(document["k"], list)
        and isinstance(document["v"], list)
        and isinstance(document["b"], bool)
        and isinstance(document["i"], bool)
    ):
        raise ValueError(NOT_A_CURSOR)
    if document["k"] != [key.term for key in keys]:
        raise ValueError(OTHER_ORDERING)
    if len(document["v"]) != len(keys):
        raise ValueError(NOT_A_CURSOR)
    values = tuple(_value(key.field, value, using) for key, value in zip(keys, document["v"], strict=True))
    return Position(values, backwards=document["b"], inclusive=document["i"])


def _value(field: models.Field, value, using: str):
    """A key value from a cursor, as the field holds it; ValueError if it cannot be one."""
    if value is None:
        if field.null:
            return None
    elif isinstance(field, models.CharField | models.TextField):
        if isinstance(value, str) and "\x00" not in value and len(value) <= (field.max_length or len(value)):
            return value
    elif isinstance(field, models.DecimalField):
        if isinstance(value, str):
            try:
                number = Decimal(value)
            except InvalidOperation:
                number = None
            if (
                number is not None
                and number.is_finite()
                and abs(number) < Decimal(10) ** (field.max_digits - field.decimal_places)
                and number.as_tuple().exponent >= -field.decimal_places
            ):
                return number
    elif isinstance(field, models.DateTimeField):
        if isinstance(value, str):
            try:
                moment = datetime.datetime.fromisoformat(value)
            except ValueError:
                moment = None
            if moment is not None and moment.tzinfo is not None:
                return moment
    elif isinstance(field, models.IntegerField):  # auto fields, positive ones and big ones too
        low, high = connections[using].ops.integer_field_range(field.get_internal_type())
        if type(value) is int and (low is None or low <= value) and (high is None or value <= high):
            return value
    else:
        raise TypeError(f"Keyset pagination cannot order by a {type(field).__name__}.")
    raise ValueError(NOT_A_CURSOR)


def beyond(keys: list[SortKey], position: Position, *, using: str = "default") -> Q | None:
    """The rows after `position` in the order of `keys` (None: none can be): those equal to it
    on the first keys and after it on the next. Read `keys` reversed for a backwards position.
    The first key's bound is repeated on its own, so that an index on it is used."""
    nulls_largest = connections[using].features.nulls_order_largest
    terms, equal = [], Q()
    for key, value in zip(keys, position.values, strict=True):
        step = _after(key, value, nulls_largest)
        if step is not None:
            terms.append(equal & step)
        equal &= Q(**{f"{key.path}__isnull": True}) if value is None else Q(**{key.path: value})
    if position.inclusive:
        terms.append(equal)
    if not terms:
        return None
    condition = reduce(or_, terms)
    first, value = keys[0], position.values[0]
    if value is not None and not first.field.null:
        condition &= Q(**{f"{first.path}__{'lte' if first.descending else 'gte'}": value})
    return condition


def _after(key: SortKey, value, nulls_largest: bool) -> Q | None:
    """The rows whose `key` comes strictly after `value` (None: none can)."""
    upward = not key.descending
    nulls_at_end = nulls_largest == upward
    if value is None:
        return None if nulls_at_end else Q(**{f"{key.path}__isnull": False})
    condition = Q(**{f"{key.path}__{'gt' if upward else 'lt'}": value})
    if key.field.null and nulls_at_end:
        condition |= Q(**{f"{key.path}__isnull": True})
    return condition
