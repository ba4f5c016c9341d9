from django.core.validators import RegexValidator
from django.db import models

from audit.choices import EventType
from audit.history import AuditedHistory
from models_registry.limits import (
    COMPONENT_ID_MAX_LENGTH,
    COMPONENT_NAME_MAX_LENGTH,
    COMPONENT_OWNER_MAX_LENGTH,
    COMPONENT_TYPE_MAX_LENGTH,
)
from models_registry.models.aimodels import AIModel
from models_registry.models.base import RegistryModel


class ModelDependency(RegistryModel):
    """A platform component (agent, workflow, assistant, ...) that uses a model.

    While any exists, the model cannot be deleted: PROTECT here, a row lock in the
    services, and the foreign key itself as the last word under concurrency.
    """

    model = models.ForeignKey(AIModel, on_delete=models.PROTECT, related_name="dependencies")
    component_type = models.CharField(
        max_length=COMPONENT_TYPE_MAX_LENGTH,
        validators=[RegexValidator(r"^[a-z0-9][a-z0-9_-]*\Z", "Use a lowercase slug, e.g. agent.")],
    )
    component_id = models.CharField(max_length=COMPONENT_ID_MAX_LENGTH)
    component_name = models.CharField(max_length=COMPONENT_NAME_MAX_LENGTH, blank=True)
    # Who to ask about the component (a team or a contact), e.g. before its model is retired.
    owner = models.CharField(max_length=COMPONENT_OWNER_MAX_LENGTH, blank=True, default="", db_default="")
    registered_at = models.DateTimeField(auto_now_add=True)
    registered_by = models.CharField(max_length=150, blank=True, editable=False)

    # A page of models as of an instant counts its models' dependencies as of then.
    history = AuditedHistory(
        as_of=True, indexes=[models.Index(fields=["model", "history_date"], name="hist_dependency_model_date")]
    )

    CONSTRAINT_FIELDS = {"component_taken": "component_id"}
    LABEL_FIELDS = ("component_id", "component_name", "owner")
    AUDIT_PARENT = "model"  # registrations show in the model's history
    AUDIT_PROVIDER = "model__provider_id"
    # No door edits a registration: a component registers again or is removed.
    EVENT_TYPES = {"create": EventType.DEPENDENCY_REGISTERED, "delete": EventType.DEPENDENCY_REMOVED}

    class Meta:
        ordering = ["model_id", "component_type", "component_id"]
        verbose_name_plural = "model dependencies"
        constraints = [
            models.UniqueConstraint(
                fields=["model", "component_type", "component_id"],
                name="dependency_unique_component",
                violation_error_message="This component is already registered for this model.",
                violation_error_code="component_taken",
            )
        ]
        indexes = [
            # "Which models does this component use?" (the change feed's and webhooks'
            # `dependent=`, by name or id): answered from the indexes alone.
            models.Index(fields=["component_name", "model"], name="dependency_component_name"),
            models.Index(fields=["component_id", "model"], name="dependency_component_id"),
        ]

    @classmethod
    def change_event_type(cls, action: str, changes) -> str:
        return cls.EVENT_TYPES[action]

    def __str__(self) -> str:
        return f"{self.component_type}:{self.component_id} uses {self.model}"
