from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models

from audit.history import AuditedHistory
from models_registry.limits import DESCRIPTION_MAX_LENGTH, SETTINGS_SCHEMA_MAX_BYTES, JSONSizeValidator
from models_registry.models.base import RegistryModel
from models_registry.models.providers import PROVIDER_SLUG_VALIDATOR
from models_registry.settings_schemas import schema_problems, settings_problems


def settings_errors(schema: dict, settings) -> list[str]:
    """The same problems as readable lines: "max_temperature: 3 is greater than the maximum of 2"."""
    return [
        f"{'.'.join(str(part) for part in path)}: {message}" if path else message
        for path, message in settings_problems(schema, settings)
    ]


class Industry(RegistryModel):
    """A vertical a model can be configured for, with the rules its per-model settings obey."""

    slug = models.CharField(max_length=100, unique=True, validators=[PROVIDER_SLUG_VALIDATOR])
    name = models.CharField(max_length=200)
    description = models.TextField(
        blank=True, max_length=DESCRIPTION_MAX_LENGTH, validators=[MaxLengthValidator(DESCRIPTION_MAX_LENGTH)]
    )
    settings_schema = models.JSONField(
        default=dict,
        blank=True,
        validators=[JSONSizeValidator(SETTINGS_SCHEMA_MAX_BYTES)],
        help_text="A JSON Schema that each model's settings for this industry must pass.",
    )

    history = AuditedHistory(as_of=True)  # read as of an instant (models_registry/as_of.py)

    LABEL_FIELDS = ("name",)
    EVENT_PREFIX = "industry"
    NATURAL_KEY = "slug"

    class Meta:
        ordering = ["slug"]
        verbose_name_plural = "industries"

    def __str__(self) -> str:
        return self.slug

    def clean(self):
        # Checked on every save, from every door (API, admin, commands): what a settings
        # schema may contain is in models/settings_schema.py.
        problems = schema_problems(self.settings_schema)
        if problems:
            raise ValidationError({"settings_schema": problems})

    def settings_errors(self, settings) -> list[str]:
        return settings_errors(self.settings_schema, settings)

    def settings_problems(self, settings) -> list[tuple[tuple, str]]:
        return settings_problems(self.settings_schema, settings)
