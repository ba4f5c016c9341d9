from django.db import models


class CatalogVersion(models.Model):
    """One row whose `version` moves inside every registry-changing transaction.

    Because it changes in the same transaction as the data, a reader that sees a
    version also sees the data of that version: caches keyed on it are never stale.
    It never goes back, even when the database does (a restored backup, a recreated
    database): each new version is at least the current time in microseconds, so it is
    never one a shared cache has seen before.
    """

    version = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"catalog version {self.version}"
