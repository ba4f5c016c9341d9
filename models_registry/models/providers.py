from django.core.validators import MaxLengthValidator, RegexValidator
from django.db import models

from audit.history import AuditedHistory
from models_registry.limits import DESCRIPTION_MAX_LENGTH
from models_registry.models.base import RegistryModel

PROVIDER_SLUG_VALIDATOR = RegexValidator(
    r"^[a-z0-9][a-z0-9_.-]*\Z",  # \Z: "$" would let a trailing newline through
    "Use lowercase letters, digits, '_', '.' and '-', starting with a letter or digit.",
)


class Provider(RegistryModel):
    """Who serves a model (OpenAI, Anthropic, Bedrock, ...)."""

    slug = models.CharField(max_length=100, unique=True, validators=[PROVIDER_SLUG_VALIDATOR])
    name = models.CharField(max_length=200)
    website = models.URLField(blank=True)
    description = models.TextField(
        blank=True, max_length=DESCRIPTION_MAX_LENGTH, validators=[MaxLengthValidator(DESCRIPTION_MAX_LENGTH)]
    )

    history = AuditedHistory(as_of=True)  # read as of an instant (models_registry/as_of.py)

    LABEL_FIELDS = ("name",)
    EVENT_PREFIX = "provider"
    NATURAL_KEY = "slug"
    AUDIT_PROVIDER = "id"

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug
