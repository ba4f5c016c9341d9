"""The catalog version and the transaction every registry write runs in."""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest

from audit.chain import PendingLinks, chain_links
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
    links: PendingLinks | None = None  # the audit entries written inside, to be linked at the end

    def entry_ids(self) -> list[int]:
        """The ids of the audit entries written inside this write so far, nested writes included."""
        return [item[0] if isinstance(item, tuple) else item for item in self.links.written]


_open_write: ContextVar[RegistryWrite | None] = ContextVar("registry_write", default=None)


@contextmanager
def registry_write(*, actor, reason: str = "", source: str | None = None) -> Iterator[RegistryWrite]:
    """One atomic registry change: audited as `actor` with `reason`, and a new catalog
    version that becomes visible exactly when the data does (at commit). An actor, reason
    or source not given is the open context's (a command run's, a request's). The audit
    entries written inside are linked into the audit chain last, while the catalog version
    row is locked: that lock already orders every registry write.

    A registry write opened inside another (a revert runs several services as one change)
    is a savepoint of it: its entries are linked, and its change versioned, with the
    outer write's, so one transaction is one catalog version."""
    given = {"actor": actor, "reason": reason, "source": source}
    overrides = {key: value for key, value in given.items() if value}
    outer = _open_write.get()
    if outer is not None:
        with change_context(**overrides), transaction.atomic():
            yield RegistryWrite(links=outer.links)
        return
    write = RegistryWrite()
    token = _open_write.set(write)
    try:
        with change_context(**overrides), transaction.atomic(), chain_links() as links:
            write.links = links
            yield write
            if write.changed:
                links.catalog_version = bump_catalog_version()  # last: the hot row is locked as briefly as possible
    finally:
        _open_write.reset(token)


def actor_name(actor) -> str:
    return actor.get_username() if getattr(actor, "is_authenticated", False) else ""
