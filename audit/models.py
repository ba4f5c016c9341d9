"""The audit log (one entry per change to a registry object) and the security log.

Both are append-only: rows are inserted, never updated or deleted, by any code path
here; on PostgreSQL the database refuses UPDATE and DELETE too (see `audit.append_only`).
Rows copy names as text and hold no foreign keys, so they outlive users and objects.
"""

from django.db import models
from django.utils import timezone
from simple_history.manager import HistoricalQuerySet

from audit.choices import AuditAction, ChangeSource, EventType, SecurityEventType
from audit.context import current_request_id, current_source, current_username


class AppendOnlyError(Exception):
    """Raised by any attempt to change or remove a log row."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError(f"{self.model._meta.label} is append-only.")

    def delete(self):
        raise AppendOnlyError(f"{self.model._meta.label} is append-only.")


class AppendOnlyHistoricalQuerySet(HistoricalQuerySet, AppendOnlyQuerySet):
    """simple-history's queryset, append-only."""


class AppendOnlyModel(models.Model):
    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError(f"{self._meta.label} is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{self._meta.label} is append-only.")


class HistoryStamp(AppendOnlyModel):
    """Extra columns on every historical record: the door and the request."""

    history_source = models.CharField(max_length=10, choices=ChangeSource.choices, default=current_source)
    # Not indexed: a request's changes are found through the audit log's request_id index.
    history_request_id = models.CharField(max_length=64, default=current_request_id)
    history_username = models.CharField(max_length=150, blank=True, default=current_username)

    objects = AppendOnlyHistoricalQuerySet.as_manager()

    class Meta:
        abstract = True


def audit_parent(model: type[models.Model]) -> models.ForeignKey | None:
    """The foreign key a model names in AUDIT_PARENT: the object it is a part of."""
    name = getattr(model, "AUDIT_PARENT", None)
    return model._meta.get_field(name) if name else None


class AuditEntry(AppendOnlyModel):
    timestamp = models.DateTimeField(default=timezone.now)
    user_id = models.IntegerField(null=True, blank=True)
    username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=10, choices=AuditAction.choices)
    object_type = models.CharField(max_length=50)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=250)
    # The object this one is a part of (an industry profile's or a dependency's model), so
    # that object's history shows the changes to its parts too.
    parent_type = models.CharField(max_length=50, blank=True)
    parent_id = models.CharField(max_length=64, blank=True)
    parent_repr = models.CharField(max_length=250, blank=True)
    changes = models.JSONField(default=dict)
    reason = models.TextField(blank=True)
    source = models.CharField(max_length=10, choices=ChangeSource.choices)
    request_id = models.CharField(max_length=64)
    # The entry as a change event (the change feed, webhooks): its type ("" for an entry
    # that changes no registry object, such as a retention run's) and the provider it
    # concerns (a model's, a part's model's, or the provider itself), kept as a plain id.
    event_type = models.CharField(max_length=40, blank=True, choices=EventType.choices)
    provider_id = models.IntegerField(null=True, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-timestamp", "-id"]
        verbose_name_plural = "audit entries"
        # Undoing an entry, or a request's entries, is a change of the registry made
        # through the revert door (models_registry.reverting): administrators only.
        permissions = [("revert_auditentry", "Can revert audit entries (and restore deleted models)")]
        indexes = [
            models.Index(fields=["-timestamp", "-id"], name="audit_newest_first"),
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
            # Only parts have a parent: most entries (models, providers) stay out of this index.
            models.Index(fields=["parent_type", "parent_id"], name="audit_parent", condition=~models.Q(parent_type="")),
            models.Index(fields=["request_id"], name="audit_request"),
            # One person's changes, newest first (the logs' user filter, in the admin and the API).
            models.Index(fields=["username", "-timestamp", "-id"], name="audit_user_newest_first"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type} {self.object_repr}"

    @classmethod
    def of_object(cls, model: type[models.Model], object_id) -> models.QuerySet:
        """The entries of one object and of its parts, newest first."""
        name, key = model._meta.model_name, str(object_id)
        return cls.objects.filter(
            models.Q(object_type=name, object_id=key) | models.Q(parent_type=name, parent_id=key)
        ).order_by("-timestamp", "-id")


class SecurityEvent(AppendOnlyModel):
    """One security event, or identical ones counted together (see AGGREGATED_SECURITY_EVENTS).

    A counted row keeps the details of its first occurrence (`timestamp`, path, request id,
    detail); `count` and `last_seen_at` are the only columns that ever change, and only
    forward, through the one upsert in `audit.security`.
    """

    timestamp = models.DateTimeField(default=timezone.now, db_index=True)
    event = models.CharField(max_length=30, choices=SecurityEventType.choices)
    user_id = models.IntegerField(null=True, blank=True)
    username = models.CharField(max_length=150, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    method = models.CharField(max_length=10, blank=True)
    path = models.CharField(max_length=500, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    count = models.PositiveIntegerField(default=1, help_text="Occurrences counted in this row.")
    last_seen_at = models.DateTimeField(default=timezone.now, help_text="When the last of them happened.")
    # "event|address|user id|minute" for counted events, null for the others (nulls never
    # collide): the unique index the upsert counts into.
    aggregation_key = models.CharField(max_length=200, null=True, blank=True, unique=True, editable=False)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-timestamp", "-id"]

    def __str__(self) -> str:
        times = f" (x{self.count})" if self.count > 1 else ""
        return f"{self.event} {self.username or '-'}{times}"


class AuditLink(AppendOnlyModel):
    """One audit entry's place in the tamper-evident chain (see `audit.chain`).

    `position` numbers the chain without gaps; `digest` is a keyed hash (HMAC) of the
    entry's content, its position and `previous`, the digest of the link before it. The
    key never reaches the database, so a row changed, removed or inserted there cannot be
    given a digest that verifies. Links live in their own append-only table because audit
    rows are never updated: an entry is linked after it is written, at the end of its
    transaction, when the chain's order is settled.
    """

    position = models.BigIntegerField(primary_key=True)
    entry_id = models.BigIntegerField(unique=True)  # no foreign key: retention removes both, in order
    previous = models.CharField(max_length=64)
    digest = models.CharField(max_length=64)
    # The catalog version the change became part of (null for entries written outside a
    # registry write): links are made in commit order, so this is the feed's order too.
    catalog_version = models.BigIntegerField(null=True, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return f"link {self.position} -> entry {self.entry_id}"


class AuditChainHead(models.Model):
    """The chain's newest link, in one row: locked by whoever links next, so the chain has
    one order. A cache of the last link (which retention may remove), not a source of trust:
    the verifier recomputes every digest."""

    position = models.BigIntegerField(default=0)
    digest = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"audit chain head {self.position}"
