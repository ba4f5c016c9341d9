"""The catalog version and the transaction every registry write runs in."""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest

from audit.chain import chain_links
from audit.context import change_context
from models_registry.models import CatalogVersion


def bump_catalog_version() -> int:
    """Move the catalog version on (the row stays locked until the transaction ends) and
    return the new one."""
    now = time.time_ns() // 1000  # microseconds: later than any version before a restore
    if not CatalogVersion.objects.filter(pk=1).update(version=Greatest(F("version") + 1, Value(now))):
        CatalogVersion.objects.get_or_create(pk=1, defaults={"version": now})
    return CatalogVersion.objects.values_list("version", flat=True).get(pk=1)


@dataclass
class RegistryWrite:
    changed: bool = True  # a service that finds nothing to change sets False: no new version


@contextmanager
def registry_write(*, actor, reason: str = "", source: str | None = None) -> Iterator[RegistryWrite]:
    """One atomic registry change: audited as `actor` with `reason`, and a new catalog
    version that becomes visible exactly when the data does (at commit). An actor, reason
    or source not given is the open context's (a command run's, a request's). The audit
    entries written inside are linked into the audit chain last, while the catalog version
    row is locked: that lock already orders every registry write."""
    given = {"actor": actor, "reason": reason, "source": source}
    overrides = {key: value for key, value in given.items() if value}
    write = RegistryWrite()
    with change_context(**overrides), transaction.atomic(), chain_links() as links:
        yield write
        if write.changed:
            links.catalog_version = bump_catalog_version()  # last: the hot row is locked as briefly as possible


def actor_name(actor) -> str:
    return actor.get_username() if getattr(actor, "is_authenticated", False) else ""
