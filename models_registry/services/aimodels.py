"""Create, update and delete one AI model. The admin, the API and the CLI all call these."""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection

from models_registry.folding import fold
from models_registry.limits import (
    PROFILES_MAX_COUNT,
    PROFILES_SETTINGS_MAX_BYTES,
    count_problem,
    json_size,
    total_problem,
)
from models_registry.models import AIModel, Industry, ModelDependency, ModelIndustryProfile, RegisteredName
from models_registry.models.aimodels import NAME_TAKEN
from models_registry.selectors import aimodel_changes_since, dependents_of
from models_registry.services.catalog import actor_name, registry_write
from models_registry.services.errors import HasDependenciesError, StaleVersionError


@dataclass(frozen=True)
class ProfileInput:
    """One industry profile as a caller asks for it."""

    industry: Industry
    enabled: bool = True
    settings: dict = field(default_factory=dict)


def editable_field_names() -> list[str]:
    return [f.name for f in AIModel._meta.concrete_fields if f.editable and not f.primary_key]


def validate_aimodel(
    model: AIModel,
    industries: list[ProfileInput] | None = None,
    *,
    exclude: list[str] | None = None,
    validate_constraints: bool = True,
) -> list[ModelIndustryProfile]:
    """The one validation every write path runs: the model's full_clean and each profile's.

    Returns the profiles, unsaved, ready to store. Raises ValidationError with field keys.
    Batch writers that have resolved references and uniqueness themselves pass `exclude`
    and `validate_constraints=False` to spare a query per row (and the unique checks).
    """
    errors = {}
    try:
        model.full_clean(
            exclude=exclude, validate_unique=validate_constraints, validate_constraints=validate_constraints
        )
    except ValidationError as error:
        errors = error.message_dict
    profiles, problems = checked_profiles(industries or [])
    if problems:
        errors["industries"] = problems
    if errors:
        raise ValidationError(errors)
    return profiles


def checked_profiles(industries: list[ProfileInput]) -> tuple[list[ModelIndustryProfile], list[str]]:
    """A model's industry profiles as a caller asks for them, unsaved, with what is wrong
    with them as a whole and one by one (validate_aimodel's `industries` errors)."""
    profiles, problems, seen = [], [], set()
    if too_many := count_problem(industries, PROFILES_MAX_COUNT, "industry profiles"):
        problems.append(too_many)
        industries = []  # not checked one by one: there are too many
    for item in industries:
        if item.industry.pk in seen:
            problems.append(f"{item.industry.slug}: listed more than once.")
        seen.add(item.industry.pk)
        profile = ModelIndustryProfile(industry=item.industry, enabled=item.enabled, settings=item.settings)
        try:
            # `industry` is a resolved instance; the model is saved later.
            profile.full_clean(exclude=["model", "industry"], validate_constraints=False)
        except ValidationError as error:
            problems += [f"{item.industry.slug}: {message}" for message in error.messages]
        profiles.append(profile)
    settings_size = sum(json_size(profile.settings) or 0 for profile in profiles)
    too_large = total_problem(settings_size, PROFILES_SETTINGS_MAX_BYTES, "the settings of all profiles")
    if too_large and not problems:  # a profile's own problem says what to mend first
        problems.append(too_large)
    return profiles, problems


def _claim_names(model: AIModel) -> None:
    """Make the name and aliases this model's in the name index (RegisteredName)."""
    wanted = {fold(name) for name in model.all_names}
    RegisteredName.objects.filter(model=model).exclude(name__in=wanted).delete()
    held = set(RegisteredName.objects.filter(model=model).values_list("name", flat=True))
    RegisteredName.objects.bulk_create([RegisteredName(name=name, model=model) for name in wanted - held])


def _store_profiles(model: AIModel, profiles: list[ModelIndustryProfile]) -> None:
    """Bring the stored profiles to exactly `profiles`; each save or delete is audited."""
    current = {profile.industry_id: profile for profile in model.industry_profiles.all()}
    wanted = {profile.industry_id: profile for profile in profiles}
    for industry_id, stored in current.items():
        if industry_id not in wanted:
            stored.delete()
    for industry_id, profile in wanted.items():
        stored = current.get(industry_id)
        if stored is None:
            profile.model = model
            profile.save()
        elif (stored.enabled, stored.settings) != (profile.enabled, profile.settings):
            stored.enabled, stored.settings = profile.enabled, profile.settings
            stored.save()


def _profiles_differ(model: AIModel, profiles: list[ModelIndustryProfile]) -> bool:
    stored = {(p.industry_id, p.enabled, repr(p.settings)) for p in model.industry_profiles.all()}
    return stored != {(p.industry_id, p.enabled, repr(p.settings)) for p in profiles}


def _name_conflict(model: AIModel, industries) -> ValidationError:
    """A unique index fired under a concurrent write: rerun validation to say which field."""
    try:
        validate_aimodel(model, industries)
    except ValidationError as validation_error:
        return validation_error
    return ValidationError({"name": ["A concurrent change took this name or an alias; please retry."]})


def aimodel_create(*, actor, reason: str = "", industries: list[ProfileInput] | None = None, **fields) -> AIModel:
    model = AIModel(**fields)
    model.created_by = model.updated_by = actor_name(actor)
    try:
        with registry_write(actor=actor, reason=reason):
            profiles = validate_aimodel(model, industries)
            model.save()
            _claim_names(model)
            _store_profiles(model, profiles)
    except IntegrityError as error:
        model.pk = None
        raise _name_conflict(model, industries) from error
    return model


def aimodel_restore(
    *,
    model_id: int,
    fields: dict,
    version: int,
    actor,
    reason: str = "",
    industries: list[ProfileInput] | None = None,
) -> AIModel:
    """Bring a deleted model back under its old id, with `fields` (attribute names: a
    relation by its `_id`) and its industry profiles: validated and recorded as any
    creation (its name and aliases must be free), at a version past the one it was
    deleted at, so an ETag read before the deletion never matches it."""
    model = AIModel(pk=model_id, version=version, **fields)
    model.created_by = model.updated_by = actor_name(actor)
    try:
        with registry_write(actor=actor, reason=reason):
            try:
                profiles = validate_aimodel(model, industries)
            except ValidationError as error:
                raise with_name_holder(model.name, error) from error
            model.save(force_insert=True)
            _claim_names(model)
            _store_profiles(model, profiles)
    except IntegrityError as error:
        raise _name_conflict(model, industries) from error
    return model


def with_name_holder(name: str, error: ValidationError) -> ValidationError:
    """`error` with the name constraint's message ("already exists") naming the model that
    holds `name` (a restore or a revert writes a name back that may have been taken since)."""
    if not hasattr(error, "error_dict"):
        return error
    errors = error.message_dict
    if NAME_TAKEN in errors.get("name", []) and isinstance(name, str):
        holder = RegisteredName.objects.filter(name=fold(name)).values_list("model__name", "model_id").first()
        if holder is not None:
            named = f"{NAME_TAKEN[:-1]}: {holder[0]} (id {holder[1]})."
            errors["name"] = [named if message == NAME_TAKEN else message for message in errors["name"]]
    return ValidationError(errors)


def aimodel_lock(*, model_id: int, expected_version: int | None = None, seen_entry: int | None = None) -> AIModel:
    """The model as stored, its row locked until the caller's transaction ends (no other
    update or delete of it until then). With `expected_version`, refuses (StaleVersionError)
    if someone saved since the caller loaded that version; the error carries their changes,
    those newer than `seen_entry` (the newest audit entry the caller had seen,
    `selectors.aimodel_seen_entry`) when given. The one version check of every door:
    aimodel_update makes it, and the admin's form makes it while it validates."""
    current = AIModel.objects.select_for_update().get(pk=model_id)
    if expected_version is not None and current.version != expected_version:
        raise StaleVersionError(current, aimodel_changes_since(current, expected_version, seen_entry))
    return current


def aimodel_update(
    *,
    model: AIModel,
    actor,
    reason: str = "",
    expected_version: int | None = None,
    seen_entry: int | None = None,
    industries: list[ProfileInput] | None = None,
    **changes,
) -> AIModel:
    """Apply `changes` (field values) and, when given, the full list of industry profiles.

    With `expected_version`, refuses (StaleVersionError) if someone saved since, checked
    under the row's lock (aimodel_lock, with `seen_entry`).
    A call that changes nothing saves nothing and records nothing.
    """
    unknown = set(changes) - set(editable_field_names())
    if unknown:
        raise ValidationError({name: ["This field cannot be changed."] for name in sorted(unknown)})
    try:
        with registry_write(actor=actor, reason=reason) as write:
            current = aimodel_lock(model_id=model.pk, expected_version=expected_version, seen_entry=seen_entry)
            before = {name: getattr(current, name) for name in editable_field_names()}
            for name, value in changes.items():
                setattr(current, name, value)
            profiles = validate_aimodel(current, industries)
            fields_changed = {name for name in before if getattr(current, name) != before[name]}
            profiles_changed = industries is not None and _profiles_differ(current, profiles)
            if not fields_changed and not profiles_changed:
                write.changed = False
                return current
            # The version covers the model and its parts (profiles, aliases): a change to
            # either moves it, so If-Match and the admin's conflict check protect both.
            # A parts-only change records no entry for the model itself (no audited field
            # of it changed); the parts' own entries say what changed.
            current.version += 1  # the row is locked: no lost update
            current.updated_by = actor_name(actor)
            current.save()
            if fields_changed & {"name", "aliases"}:
                _claim_names(current)
            if profiles_changed:
                _store_profiles(current, profiles)
    except IntegrityError as error:
        raise _name_conflict(current, industries) from error
    return current


def aimodel_delete(*, model: AIModel, actor, reason: str = "") -> None:
    """Delete a model and its parts; refused (HasDependenciesError) while anything uses it."""
    try:
        with registry_write(actor=actor, reason=reason):
            current = AIModel.objects.select_for_update().get(pk=model.pk)
            dependents = dependents_of([current.pk]).get(current.pk)
            if dependents:
                raise HasDependenciesError(dependents)
            current.delete()
            # Foreign keys are checked at commit; check now, inside this block, so a
            # dependency that slipped in is reported here rather than by the caller's commit.
            connection.check_constraints(table_names=[ModelDependency._meta.db_table])
    except IntegrityError as error:
        raise HasDependenciesError(dependents_of([model.pk]).get(model.pk, [])) from error


def aimodel_set_status(*, model: AIModel, status: str, actor, reason: str = "") -> AIModel:
    return aimodel_update(model=model, actor=actor, reason=reason, status=status)
