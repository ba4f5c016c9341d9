import datetime
import re
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Lower

from audit.choices import AuditAction, ChangeSource, EventType
from audit.context import current_change
from audit.history import AuditedHistory
from models_registry.choices import Capability, ModelStatus, ModelType
from models_registry.folding import fold
from models_registry.limits import (
    ALIASES_MAX_COUNT,
    DESCRIPTION_MAX_LENGTH,
    DISPLAY_NAME_MAX_LENGTH,
    METADATA_MAX_BYTES,
    MODEL_CONTENT_MAX_BYTES,
    PROFILE_SETTINGS_MAX_BYTES,
    JSONSizeValidator,
    content_sizes,
    count_problem,
    total_problem,
)
from models_registry.models.base import RegistryModel
from models_registry.models.fields import ExactDecimalField, FoldedTextField
from models_registry.models.industries import Industry
from models_registry.models.providers import Provider

NAME_MAX_LENGTH = 200
NAME_REGEX = r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]*\Z"  # \Z: "$" would let a trailing newline through
NAME_VALIDATOR = RegexValidator(
    NAME_REGEX, "Start with a letter or digit; then letters, digits and . _ : / @ + - only."
)
# The same pattern for is_name, compiled here: the validator reaches its own through a lazy
# proxy, which costs more than the match, and an import asks about every name and alias.
_NAME_PATTERN = re.compile(NAME_REGEX)
CONTEXT_WINDOW_RANGE = (1, 100_000_000)
MAX_OUTPUT_TOKENS_RANGE = (0, 100_000_000)
COST_DIGITS, COST_DECIMAL_PLACES = 16, 10  # below 1,000,000 with 10 decimal places
NAME_TAKEN = "A model with this name already exists."
# How long a successor chain may be before it is treated as a cycle.
SUCCESSOR_CHAIN_LIMIT = 10_000
CAPABILITIES = frozenset(Capability.values)  # Enum.values builds a new list on every call
# What a person or a client says about a model, in the order every door lists it: the API's
# writable fields, the import and export columns, the admin form (`industries` is the model's
# industry profiles). Adding a field: docs/architecture.md, "Adding a field to a model".
DESCRIBED_FIELDS = [
    "name", "display_name", "provider", "model_type", "capabilities", "context_window", "max_output_tokens",
    "input_cost_per_million_tokens", "output_cost_per_million_tokens", "status", "deprecation_date",
    "sunset_date", "successor", "description", "aliases", "industries", "metadata",
]  # fmt: skip


def is_name(value) -> bool:
    """Whether `value` is a well-formed model name or alias (checked before it reaches a query)."""
    return isinstance(value, str) and 0 < len(value) <= NAME_MAX_LENGTH and _NAME_PATTERN.search(value) is not None


class NameKey(Lower):
    """A name as the unique index compares it: A-Z lowered, nothing else, on every database.

    Names are ASCII (NAME_VALIDATOR, compiled without IGNORECASE, so neither the Kelvin
    sign nor the long s passes for a letter), and for ASCII this is exactly `fold()`.
    PostgreSQL's LOWER follows the collation, which may lower "I" to a dotless i (Turkish); under
    "C" it lowers A-Z only. SQLite's lower() lowers A-Z only already.
    """

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template='%(function)s(%(expressions)s COLLATE "C")', **extra_context)


def _range_validators(bounds):
    return [MinValueValidator(bounds[0]), MaxValueValidator(bounds[1])]


def _in_range(field, bounds):
    return models.Q(**{f"{field}__isnull": True}) | models.Q(**{f"{field}__gte": bounds[0], f"{field}__lte": bounds[1]})


class AIModel(RegistryModel):
    """One model a platform can call."""

    name = models.CharField(max_length=NAME_MAX_LENGTH, validators=[NAME_VALIDATOR])
    display_name = models.CharField(max_length=DISPLAY_NAME_MAX_LENGTH, blank=True)
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="models")
    model_type = models.CharField(max_length=32, choices=ModelType.choices, default=ModelType.CHAT)
    capabilities = models.JSONField(default=list, blank=True)
    context_window = models.PositiveIntegerField(
        null=True, blank=True, validators=_range_validators(CONTEXT_WINDOW_RANGE), help_text="Max input tokens."
    )
    max_output_tokens = models.PositiveIntegerField(
        null=True, blank=True, validators=_range_validators(MAX_OUTPUT_TOKENS_RANGE)
    )
    input_cost_per_million_tokens = ExactDecimalField(
        max_digits=COST_DIGITS,
        decimal_places=COST_DECIMAL_PLACES,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
    )
    output_cost_per_million_tokens = ExactDecimalField(
        max_digits=COST_DIGITS,
        decimal_places=COST_DECIMAL_PLACES,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
    )
    status = models.CharField(max_length=16, choices=ModelStatus.choices, default=ModelStatus.ACTIVE)
    deprecation_date = models.DateField(null=True, blank=True)
    # The day it leaves /v1/models and the selection list (docs/contract.md §7, "Lifecycle").
    sunset_date = models.DateField(
        null=True, blank=True, help_text="From this day (UTC) it leaves /v1/models and the selection list."
    )
    successor = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="predecessors")
    description = models.TextField(
        blank=True, max_length=DESCRIPTION_MAX_LENGTH, validators=[MaxLengthValidator(DESCRIPTION_MAX_LENGTH)]
    )
    metadata = models.JSONField(default=dict, blank=True, validators=[JSONSizeValidator(METADATA_MAX_BYTES)])
    aliases = models.JSONField(default=list, blank=True, help_text="Other names that resolve to this model.")
    # What `search=` looks in, folded (models_registry.folding); written with every row.
    search_text = FoldedTextField(sources=("name", "display_name", "aliases", "description"))

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.CharField(max_length=150, blank=True, editable=False)
    updated_by = models.CharField(max_length=150, blank=True, editable=False)
    # Bumped by every change: the ETag of the API and the edit-conflict check of the admin.
    version = models.PositiveIntegerField(default=1, editable=False)

    history = AuditedHistory(
        as_of=True,
        excluded_fields=["search_text"],  # derived, not a change of its own
        # The registry as of an instant a page at a time, in the lists' default order and
        # sorted by context window (as the live lists' indexes serve them).
        indexes=[
            models.Index(fields=["name", "id"], name="hist_aimodel_name_id"),
            models.Index(fields=["-context_window", "id"], name="hist_aimodel_context_window_id"),
        ],
    )

    # Relations that are parts of the model and go with it; every other relation to
    # AIModel, in any app, is a dependency that blocks deletion.
    OWNED_RELATIONS = ("registered_names", "industry_profiles", "scheduled_changes")
    CONSTRAINT_FIELDS = {"name_taken": "name"}
    LABEL_FIELDS = ("name", "display_name")
    EVENT_PREFIX = "model"
    NATURAL_KEY = "name"
    AUDIT_PROVIDER = "provider_id"

    class Meta:
        ordering = ["name"]
        verbose_name = "AI model"
        permissions = [
            ("bulk_aimodel", "Can run bulk operations on AI models"),
            ("import_aimodel", "Can import AI models"),
        ]
        constraints = [
            models.UniqueConstraint(
                NameKey("name"),
                name="aimodel_name_ci_unique",
                violation_error_message=NAME_TAKEN,
                violation_error_code="name_taken",
            ),
            models.CheckConstraint(
                condition=_in_range("context_window", CONTEXT_WINDOW_RANGE), name="aimodel_context_window_range"
            ),
            models.CheckConstraint(
                condition=_in_range("max_output_tokens", MAX_OUTPUT_TOKENS_RANGE),
                name="aimodel_max_output_tokens_range",
            ),
            models.CheckConstraint(
                condition=models.Q(input_cost_per_million_tokens__isnull=True)
                | models.Q(input_cost_per_million_tokens__gte=0),
                name="aimodel_input_cost_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(output_cost_per_million_tokens__isnull=True)
                | models.Q(output_cost_per_million_tokens__gte=0),
                name="aimodel_output_cost_not_negative",
            ),
            models.CheckConstraint(condition=models.Q(status__in=ModelStatus.values), name="aimodel_status_valid"),
            models.CheckConstraint(
                condition=models.Q(model_type__in=ModelType.values), name="aimodel_model_type_valid"
            ),
            models.CheckConstraint(condition=~models.Q(successor=models.F("pk")), name="aimodel_successor_not_self"),
        ]
        indexes = [
            models.Index(fields=["name", "id"], name="aimodel_name_id"),  # the lists' default order
            models.Index(fields=["status", "provider", "name"], name="aimodel_status_provider_name"),
            models.Index(fields=["model_type"], name="aimodel_model_type"),
            models.Index(fields=["updated_at"], name="aimodel_updated_at"),
            # The dashboard's deprecations, soonest first (few models have a date).
            models.Index(
                fields=["deprecation_date", "name"],
                name="aimodel_deprecation_date",
                condition=models.Q(deprecation_date__isnull=False),
            ),
            # One provider's models in the lists' order (the admin's and the API's provider filter).
            models.Index(fields=["provider", "name", "id"], name="aimodel_provider_name_id"),
            # The lists sorted by context window, the sort people ask of a model catalog most.
            models.Index(fields=["context_window", "id"], name="aimodel_context_window_id"),
        ]

    @classmethod
    def change_event_type(cls, action: str, changes) -> str:
        new_status = (changes.get("status") or {}).get("new")
        if action == AuditAction.UPDATE and new_status == ModelStatus.DEPRECATED:
            return EventType.MODEL_DEPRECATED
        if action == AuditAction.CREATE and current_change().source == ChangeSource.REVERT:
            return EventType.MODEL_RESTORED  # the revert door creates only what a delete took away
        return super().change_event_type(action, changes)

    def __str__(self) -> str:
        return self.name

    def save(self, *args, update_fields=None, **kwargs):
        if update_fields is not None and set(update_fields) & set(AIModel.search_text.field.sources):
            update_fields = {*update_fields, "search_text"}  # never left behind the text it folds
        super().save(*args, update_fields=update_fields, **kwargs)

    @property
    def all_names(self) -> list[str]:
        return [self.name, *self.aliases]

    def clean(self):
        errors = {}
        self._clean_capabilities(errors)
        self._clean_aliases(errors)
        self._clean_successor(errors)
        self._clean_sunset_date(errors)
        self._clean_name_not_an_alias(errors)
        if not isinstance(self.metadata, dict):
            errors["metadata"] = ["Must be a JSON object."]
        self._clean_content_size(errors)
        if errors:
            raise ValidationError(errors)

    def _clean_content_size(self, errors):
        """Description, metadata and aliases share one budget (limits.MODEL_CONTENT_MAX_BYTES);
        the error goes to the largest of them, the one to shorten."""
        if "metadata" in errors or "aliases" in errors or not isinstance(self.description, str):
            return  # not the right shape: already refused
        sizes = content_sizes(self.description, self.metadata, self.aliases)
        if len(self.description) > DESCRIPTION_MAX_LENGTH or sizes["metadata"] > METADATA_MAX_BYTES:
            return  # over its own limit: that error says what to shorten
        if problem := total_problem(sum(sizes.values()), MODEL_CONTENT_MAX_BYTES, "description, metadata and aliases"):
            errors.setdefault(max(sizes, key=sizes.get), []).append(problem)

    def _clean_capabilities(self, errors):
        if not isinstance(self.capabilities, list) or not all(isinstance(c, str) for c in self.capabilities):
            errors["capabilities"] = ["Must be a list of capability names."]
            return
        unknown = sorted(set(self.capabilities) - CAPABILITIES)
        if unknown:
            errors["capabilities"] = [f"Unknown capability: {value}." for value in unknown]
            return
        self.capabilities = sorted(set(self.capabilities))

    def name_owners(self, lowered_names: list[str]) -> dict[str, str]:
        """{lowered name: owning model's name} for those of `lowered_names` another model holds.

        Reads the name index in the database, unless a batch writer (the importer) has set
        `name_index` to a view of the registry as it will be after the batch.
        """
        index = getattr(self, "name_index", None)
        if index is not None:
            return index.owners(lowered_names, self)
        return RegisteredName.objects.taken_by_others(lowered_names, self.pk)

    def _clean_aliases(self, errors):
        if not isinstance(self.aliases, list) or not all(isinstance(a, str) for a in self.aliases):
            errors["aliases"] = ["Must be a list of names."]
            return
        if too_many := count_problem(self.aliases, ALIASES_MAX_COUNT, "aliases"):
            errors["aliases"] = [too_many]
            return
        problems, seen, well_formed = [], {fold(self.name)}, []
        for alias in self.aliases:
            if not is_name(alias):
                too_long = isinstance(alias, str) and len(alias) > NAME_MAX_LENGTH
                rule = f"at most {NAME_MAX_LENGTH} characters." if too_long else NAME_VALIDATOR.message
                problems.append(f"{alias!r}: {rule}")
                continue
            if fold(alias) in seen:
                problems.append(f"{alias!r} is listed twice or repeats the model's name.")
            seen.add(fold(alias))
            well_formed.append(fold(alias))
        taken = self.name_owners(well_formed)
        problems += [f"{alias!r} is already a name or alias of {owner}." for alias, owner in taken.items()]
        if problems:
            errors["aliases"] = problems

    def _clean_name_not_an_alias(self, errors):
        if not is_name(self.name):
            return  # clean_fields reports it; a malformed name (NUL) must not reach a query
        owner = self.name_owners([fold(self.name)]).get(fold(self.name))
        if owner is not None and fold(owner) != fold(self.name):
            errors["name"] = [f"{self.name!r} is already an alias of {owner}."]

    def _clean_sunset_date(self, errors):
        before, after = self.deprecation_date, self.sunset_date
        # (a value that is not a date yet is one clean_fields has refused already)
        if isinstance(before, datetime.date) and isinstance(after, datetime.date) and after < before:
            errors["sunset_date"] = ["The sunset date cannot be before the deprecation date."]

    def _clean_successor(self, errors):
        if self.successor_id is None or getattr(self, "name_index", None) is not None:
            return  # (a batch writer checks successor chains across all its rows at once)
        if self.pk is not None and self.successor_id == self.pk:
            errors["successor"] = ["A model cannot be its own successor."]
            return

        def next_successor(pk):
            return AIModel.objects.filter(pk=pk).values_list("successor_id", flat=True).first()

        problem = successor_chain_problem(self.pk, self.successor_id, next_successor)
        if problem:
            errors["successor"] = [problem]


def successor_chain_problem(start, first, next_of) -> str | None:
    """Why following successors from `first` is not allowed for the model `start`, if it is not.

    `next_of(key)` gives a model's successor (None at the end of the chain); the keys
    may be ids (the database) or names (an import): the rule is the same.
    """
    seen, current = {start}, first
    for _ in range(SUCCESSOR_CHAIN_LIMIT):
        if current is None:
            return None
        if current in seen:
            return "This successor would make a cycle of successors."
        seen.add(current)
        current = next_of(current)
    return "The successor chain is too long."


class RegisteredNameQuerySet(models.QuerySet):
    def taken_by_others(self, lowered_names: list[str], model_pk) -> dict[str, str]:
        """{folded name: owning model's name} for names held by a model other than `model_pk`."""
        rows = self.filter(name__in=lowered_names).exclude(model_id=model_pk).values_list("name", "model__name")
        return dict(rows)


class RegisteredName(models.Model):
    """Every model name and alias, folded (`models_registry.folding.fold`), held by one model.

    A unique index cannot span two columns of different rows, so this table is that
    index: it makes "unique case-insensitively across names and aliases" a database
    invariant that holds under concurrent writes. Derived from AIModel.name and
    AIModel.aliases, written only by the registry services; not audited itself.
    """

    name = models.CharField(max_length=NAME_MAX_LENGTH, unique=True)
    model = models.ForeignKey(AIModel, on_delete=models.CASCADE, related_name="registered_names")

    objects = RegisteredNameQuerySet.as_manager()

    def __str__(self) -> str:
        return self.name


class ModelIndustryProfile(RegistryModel):
    """How one model is configured for one industry; `settings` obey the industry's rules."""

    model = models.ForeignKey(AIModel, on_delete=models.CASCADE, related_name="industry_profiles")
    industry = models.ForeignKey(Industry, on_delete=models.PROTECT, related_name="profiles")
    enabled = models.BooleanField(default=True)
    settings = models.JSONField(default=dict, blank=True, validators=[JSONSizeValidator(PROFILE_SETTINGS_MAX_BYTES)])

    # A page of models as of an instant reads its models' profiles as of then.
    history = AuditedHistory(
        as_of=True, indexes=[models.Index(fields=["model", "history_date"], name="hist_profile_model_date")]
    )

    CONSTRAINT_FIELDS = {"industry_taken": "industry"}
    AUDIT_PARENT = "model"  # its changes show in the model's history
    AUDIT_PROVIDER = "model__provider_id"

    class Meta:
        ordering = ["model_id", "industry_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["model", "industry"],
                name="profile_one_per_industry",
                violation_error_message="This model already has a profile for this industry.",
                violation_error_code="industry_taken",
            )
        ]
        indexes = [models.Index(fields=["industry", "enabled"], name="profile_industry_enabled")]

    @classmethod
    def change_event_type(cls, action: str, changes) -> str:
        return EventType.MODEL_UPDATED  # a profile added, changed or removed changes its model

    def __str__(self) -> str:
        return f"{self.model} / {self.industry}"

    def clean(self):
        if self.industry_id is None:
            return
        problems = self.industry.settings_errors(self.settings)
        if problems:
            raise ValidationError({"settings": problems})
