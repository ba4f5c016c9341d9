from django.db import models


class CatalogVersion(models.Model):
    """One row whose `version` moves inside every registry-changing transaction.

    Because it changes in the same transaction as the data, a reader that sees a
    version also sees the data of that version: caches keyed on it are never stale.
    """

    version = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"catalog version {self.version}"
