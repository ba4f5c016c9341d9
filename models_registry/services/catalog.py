"""The catalog version and the transaction every registry write runs in."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction
from django.db.models import F

from audit.context import change_context
from models_registry.models import CatalogVersion


def bump_catalog_version() -> None:
    if not CatalogVersion.objects.filter(pk=1).update(version=F("version") + 1):
        CatalogVersion.objects.get_or_create(pk=1, defaults={"version": 1})


@contextmanager
def registry_write(*, actor, reason: str = "", source: str | None = None) -> Iterator[None]:
    """One atomic registry change: audited as `actor` with `reason`, and a new catalog
    version that becomes visible exactly when the data does (at commit). An actor, reason
    or source not given is the open context's (a command run's, a request's)."""
    given = {"actor": actor, "reason": reason, "source": source}
    overrides = {key: value for key, value in given.items() if value}
    with change_context(**overrides), transaction.atomic():
        yield
        bump_catalog_version()  # last, so the hot row is locked as briefly as possible


def actor_name(actor) -> str:
    return actor.get_username() if getattr(actor, "is_authenticated", False) else ""
