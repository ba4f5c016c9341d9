import datetime
import decimal
import json
import math

import orjson
from django.utils.functional import Promise
from rest_framework.renderers import BaseRenderer
from rest_framework.utils.encoders import JSONEncoder

OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS


def _default(value):
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, Promise):
        return str(value)
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


def dumps(data) -> bytes:
    try:
        return orjson.dumps(data, default=_default, option=OPTIONS)
    except orjson.JSONEncodeError:
        # orjson refuses lone surrogates, integers beyond 64 bits and nesting past 254
        # levels. Such values come from what a client sent, echoed back in an error ("…" is
        # not a valid choice) or kept in a JSON document: they must render, not be a 500.
        return json.dumps(
            _encodable(data), cls=_FallbackEncoder, ensure_ascii=False, allow_nan=False, separators=(",", ":")
        ).encode()


def _encodable(value):
    """`value` with every lone surrogate written as its escape (the text `\\ud800`), so the
    body is valid UTF-8 that every JSON parser reads, and non-finite floats as null (as orjson
    writes them)."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_encodable(key): _encodable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_encodable(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, orjson.Fragment):
        return _encodable(orjson.loads(orjson.dumps(value)))  # a document kept as JSON text
    if isinstance(value, Promise):
        return _encodable(str(value))
    return value


class _FallbackEncoder(JSONEncoder):
    def default(self, obj):
        try:
            return _default(obj)
        except TypeError:
            return super().default(obj)


class ORJSONRenderer(BaseRenderer):
    """JSON via orjson: the list endpoints render hundreds of rows per request."""

    media_type = "application/json"
    format = "json"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return b"" if data is None else dumps(data)
