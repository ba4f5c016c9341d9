"""Who is changing the registry, through which door, why, and under which request id.

One `ChangeContext` is current at a time (a context variable, so it is per thread and
per task). The request middleware opens one per HTTP request, management commands open
one per run, and services narrow it (the actor, the reason, `bulk` as the source).
Every history record and audit entry is stamped from it.
"""

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator

from audit.choices import ChangeSource

REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
REASON_MAX_LENGTH = 500
REASON_VALIDATOR = MaxLengthValidator(REASON_MAX_LENGTH)


def validate_reason(reason: str) -> None:
    """A reason given with a change (the API's X-Change-Reason, the bulk request's reason, the
    admin's field, a command's --reason): at most REASON_MAX_LENGTH characters, refused
    rather than cut, so that what the audit log keeps is what was said."""
    try:
        REASON_VALIDATOR(reason)
    except ValidationError as error:
        raise ValidationError({"reason": error.messages}) from error


def new_request_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class ChangeContext:
    source: str
    request_id: str
    actor: object | None = None  # the User a service acts for, when it says so
    request: object | None = None  # the HTTP request, whose signed-in user acts otherwise
    reason: str = ""

    @property
    def user(self):
        if self.actor is not None:
            return self.actor
        user = getattr(self.request, "user", None)
        return user if getattr(user, "is_authenticated", False) else None

    @property
    def user_id(self) -> int | None:
        return getattr(self.user, "pk", None)

    @property
    def username(self) -> str:
        return self.user.get_username() if self.user is not None else ""


_current: ContextVar[ChangeContext | None] = ContextVar("change_context", default=None)
# Outside any context (a shell session, say) the process counts as one CLI run.
_process_context = ChangeContext(source=ChangeSource.CLI, request_id=new_request_id())


def current_change() -> ChangeContext:
    return _current.get() or _process_context


def open_change() -> ChangeContext | None:
    """The context a request, a command or a service opened, or None outside any (where
    current_change() answers for the process as a whole)."""
    return _current.get()


@contextmanager
def change_context(**overrides) -> Iterator[ChangeContext]:
    """Open a context, or narrow the open one: fields not given are inherited."""
    if "actor" in overrides and not getattr(overrides["actor"], "is_authenticated", False):
        overrides["actor"] = None  # AnonymousUser acts as nobody
    context = replace(current_change(), **overrides)
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def clean_request_id(value: str | None) -> str:
    """Keep a caller's X-Request-ID when it is a sane token, else make a new one."""
    if value and REQUEST_ID_PATTERN.match(value):
        return value
    return new_request_id()


# Column defaults for historical records (see audit.models.HistoryStamp).
def current_source() -> str:
    return current_change().source


def current_request_id() -> str:
    return current_change().request_id


def current_username() -> str:
    return current_change().username
