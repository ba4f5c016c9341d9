"""The vocabularies of the audit and security logs."""

from django.db import models


class ChangeSource(models.TextChoices):
    """The door a change came through."""

    ADMIN = "admin", "Admin"
    API = "api", "API"
    CLI = "cli", "Command line"
    IMPORT = "import", "Import"
    BULK = "bulk", "Bulk operation"
    SCHEDULE = "schedule", "Scheduled change"
    REVERT = "revert", "Revert"  # an audit entry or a request undone (models_registry.reverting)


class AuditAction(models.TextChoices):
    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    DELETE = "delete", "Delete"


class EventType(models.TextChoices):
    """What a change event says happened (docs/contract.md §7): one vocabulary for the
    change feed and webhooks. A change to a model's part (a profile) is a `model.updated`
    of that model. Entries that change no registry object (a retention run) have none."""

    MODEL_CREATED = "model.created"
    MODEL_UPDATED = "model.updated"
    MODEL_DEPRECATED = "model.deprecated"  # an update whose new status is deprecated
    MODEL_DELETED = "model.deleted"
    MODEL_RESTORED = "model.restored"
    PROVIDER_CREATED = "provider.created"
    PROVIDER_UPDATED = "provider.updated"
    PROVIDER_DELETED = "provider.deleted"
    INDUSTRY_CREATED = "industry.created"
    INDUSTRY_UPDATED = "industry.updated"
    INDUSTRY_DELETED = "industry.deleted"
    DEPENDENCY_REGISTERED = "dependency.registered"
    DEPENDENCY_REMOVED = "dependency.removed"


# simple-history's record types, mapped onto audit actions.
ACTION_BY_HISTORY_TYPE = {"+": AuditAction.CREATE, "~": AuditAction.UPDATE, "-": AuditAction.DELETE}
HISTORY_TYPE_BY_ACTION = {action: history_type for history_type, action in ACTION_BY_HISTORY_TYPE.items()}


class SecurityEventType(models.TextChoices):
    LOGIN_SUCCEEDED = "login_succeeded", "Login succeeded"
    LOGIN_FAILED = "login_failed", "Login failed"
    LOGOUT = "logout", "Logout"
    PERMISSION_DENIED = "permission_denied", "Permission denied"
    TOKEN_CREATED = "token_created", "Token created"
    TOKEN_REVOKED = "token_revoked", "Token revoked"
    TOKEN_REJECTED = "token_rejected", "Token rejected"
    AUTH_THROTTLED = "auth_throttled", "Too many failed tokens (throttled)"
    RATE_LIMITED = "rate_limited", "Rate limit reached"


# Events a client can repeat at will: identical ones (same type, address, user and minute)
# are counted in one row, so a flood grows the security log by a bounded number of rows.
# Token creation and revocation are not: each names its token, and only staff cause them.
AGGREGATED_SECURITY_EVENTS = frozenset(SecurityEventType) - {
    SecurityEventType.TOKEN_CREATED,
    SecurityEventType.TOKEN_REVOKED,
}
