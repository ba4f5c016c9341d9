"""The admin's forms: the model form, and industry profiles whose settings are real form
fields generated from each industry's JSON Schema."""

import json
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse

from common.decimals import decimal_text
from common.parsing import StrictDateField, StrictDecimalField, StrictFloatField, StrictIntegerField
from models_registry.choices import Capability
from models_registry.limits import REASON_MAX_LENGTH
from models_registry.models import AIModel, Industry, ModelIndustryProfile
from models_registry.selectors import aimodel_seen_entry
from models_registry.services import ProfileInput, StaleVersionError, aimodel_lock
from models_registry.services.aimodels import checked_profiles, editable_field_names

SETTING_PREFIX = "setting__"


class LinesField(forms.CharField):
    """A list of texts, one per line."""

    widget = forms.Textarea(attrs={"rows": 2})

    def prepare_value(self, value):
        return "\n".join(str(item) for item in value) if isinstance(value, list) else value

    def split(self, text: str) -> list[str]:
        return text.splitlines()

    def to_python(self, value):
        return [part.strip() for part in self.split(value or "") if part.strip()]

    def has_changed(self, initial, data):
        return self.to_python(self.prepare_value(initial or [])) != self.to_python(data)


class NamesField(LinesField):
    """A list of names, one per line; commas separate too (a name cannot contain one).
    Spaces after a comma are layout; any other whitespace stays, for the name rule to refuse."""

    def split(self, text: str) -> list[str]:
        return text.replace(",", "\n").splitlines()

    def to_python(self, value):
        return [part.strip(" ") for part in self.split(value or "") if part.strip(" ")]


def refusal_messages(refusal: StaleVersionError) -> list[str]:
    """What the form shows when the service refused a save made from an older version: that,
    and the others' changes, one line per field."""
    lines = []
    for entry in refusal.changes:
        who = entry.username or "someone"
        part = "" if entry.object_type == "aimodel" else f"{entry.object_repr} "
        for name, change in sorted(entry.changes.items()):
            lines.append(f"{who} ({entry.source}, {entry.timestamp:%H:%M:%S}) changed {part}{name}: "
                         f"{change.get('old')!r} → {change.get('new')!r}")  # fmt: skip
    return [
        "Someone else saved this model after you opened it, so your changes were not saved. Their changes:",
        *lines,
        "Reload the page to see the current values, then make your changes again.",
    ]


class PriceField(StrictDecimalField):
    """Shows 2.5 rather than 2.5000000000."""

    def prepare_value(self, value):
        return decimal_text(value) if isinstance(value, Decimal) else value


class AIModelForm(forms.ModelForm):
    capabilities = forms.MultipleChoiceField(
        choices=Capability.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    aliases = NamesField(required=False, help_text="Other names that resolve to this model, one per line.")
    loaded_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    # What the form was loaded from, for the service's version check:
    # the version, and the newest audit entry of the model and its parts, so that a refused
    # save lists exactly the changes made after it.
    seen_entry = forms.IntegerField(widget=forms.HiddenInput, required=False)
    change_reason = forms.CharField(
        required=False, max_length=REASON_MAX_LENGTH, label="Reason for this change", help_text="Kept in the audit log."
    )

    class Meta:
        model = AIModel
        fields = editable_field_names()
        field_classes = {
            "context_window": StrictIntegerField,
            "max_output_tokens": StrictIntegerField,
            "input_cost_per_million_tokens": PriceField,
            "output_cost_per_million_tokens": PriceField,
            "deprecation_date": StrictDateField,
            "sunset_date": StrictDateField,
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A field the person may only read is not in the form at all (a viewer's form has
        # none): each tweak applies to the fields that are there.
        fields = self.fields
        if self.instance.pk and "loaded_version" in fields:
            fields["loaded_version"].initial = self.instance.version
            fields["seen_entry"].initial = aimodel_seen_entry(self.instance.pk)
        for name in ("name", "display_name"):  # refused with whitespace around them, never trimmed
            if name in fields:
                fields[name].strip = False
        for name in ("context_window", "max_output_tokens"):
            if name in fields:
                fields[name].widget.attrs["class"] = "vBigIntegerField"  # room for 100,000,000
        if "name" in fields:
            fields["name"].widget.attrs["data-name-check-url"] = reverse("admin:models_registry_aimodel_check_name")
            fields["name"].widget.attrs["data-model-id"] = self.instance.pk or ""

    def clean(self):
        """A change to a model someone saved since this form was loaded is refused here, with
        their changes, by the service's own check (aimodel_lock). The check locks the model's
        row until the transaction Django runs the change form's POST in ends, so no other save
        of the model can come between this validation and the admin's save that follows it."""
        cleaned = super().clean()
        if self.instance.pk is not None and "loaded_version" in self.fields:
            try:
                aimodel_lock(
                    model_id=self.instance.pk,
                    expected_version=cleaned.get("loaded_version"),
                    seen_entry=cleaned.get("seen_entry"),
                )
            except StaleVersionError as refusal:
                raise ValidationError(refusal_messages(refusal)) from refusal
        return cleaned


class EnumChoices:
    """Choices from a JSON Schema `enum`: the values themselves when all are texts (what a
    person reads and posts), else their JSON text, turned back into the value on clean."""

    def __init__(self, values: list):
        self.as_json = not all(isinstance(value, str) for value in values)
        self.choices = list(dict.fromkeys(self.key(value) for value in values))

    def key(self, value) -> str:
        return json.dumps(value, sort_keys=True, ensure_ascii=False) if self.as_json else value

    def value(self, key: str):
        return json.loads(key) if self.as_json else key


class EnumField(forms.TypedChoiceField):
    def __init__(self, values: list, **kwargs):
        self.enum = EnumChoices(values)
        choices = [("", "—"), *((key, key) for key in self.enum.choices)]
        super().__init__(choices=choices, coerce=self.enum.value, empty_value=None, **kwargs)

    def initial_from(self, value):
        return self.enum.key(value)


class EnumListField(forms.TypedMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, values: list, **kwargs):
        self.enum = EnumChoices(values)
        super().__init__(choices=[(key, key) for key in self.enum.choices], coerce=self.enum.value, **kwargs)

    def initial_from(self, value):
        return [self.enum.key(item) for item in value] if isinstance(value, list) else []


def _number(value):
    """A bound for a number field: a JSON number, or none (a boolean is not one)."""
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def setting_field(schema) -> forms.Field:
    """A form field for one property of an industry's settings schema. Any schema that
    passes the industry's checks gives a field (a boolean schema, a list of types, an enum of
    mixed values...); what has no better field is edited as JSON."""
    schema = schema if isinstance(schema, dict) else {}
    common = {"required": False, "label": schema.get("title"), "help_text": schema.get("description", "")}
    kind, items = schema.get("type"), schema.get("items")
    items = items if isinstance(items, dict) else {}
    bounds = {"min_value": _number(schema.get("minimum")), "max_value": _number(schema.get("maximum"))}
    if isinstance(schema.get("enum"), list):
        return EnumField(schema["enum"], **common)
    if kind == "boolean":
        return forms.NullBooleanField(**common)
    if kind == "integer":
        return StrictIntegerField(**bounds, **common)
    if kind == "number":
        return StrictFloatField(**bounds, **common)
    if kind == "array" and isinstance(items.get("enum"), list):
        return EnumListField(items["enum"], **common)
    if kind == "array" and items.get("type") == "string":
        return LinesField(**common)
    if kind == "string":
        max_length = schema.get("maxLength")
        return forms.CharField(max_length=max_length if isinstance(max_length, int) else None, **common)
    return forms.JSONField(**common)


def stored_settings(profile: ModelIndustryProfile) -> dict:
    """A profile's settings as a dict (a value stored by other means may not be one)."""
    return profile.settings if isinstance(profile.settings, dict) else {}


def setting_properties(industry: Industry) -> dict:
    """The settings an industry names (its schema's `properties`), each with its schema."""
    schema = industry.settings_schema if isinstance(industry.settings_schema, dict) else {}
    properties = schema.get("properties")
    return properties if isinstance(properties, dict) else {}


def industry_setting_names(industry: Industry) -> list[str]:
    return list(setting_properties(industry))


class IndustryProfileForm(forms.ModelForm):
    """Settings appear as the fields of every industry's schema; the page shows those of
    the chosen industry. Only settings that pass the industry's rules reach the profile."""

    class Meta:
        model = ModelIndustryProfile
        fields = ["industry", "enabled"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        settings = stored_settings(self.instance)
        for name in self.setting_fields:
            value = settings.get(name[len(SETTING_PREFIX) :])
            if value is not None:
                initial_from = getattr(self.fields[name], "initial_from", None)
                self.initial[name] = initial_from(value) if initial_from else value

    @property
    def setting_fields(self) -> list[str]:
        return [name for name in self.fields if name.startswith(SETTING_PREFIX)]

    def _update_errors(self, errors):
        # The profile's own check of its settings (Model.clean) repeats what clean() reported
        # field by field (or, when clean() refused them, checks the stored settings, which
        # may break a schema changed since); this form has no `settings` field to show it on.
        if hasattr(errors, "error_dict"):
            errors.error_dict.pop("settings", None)
            if not errors.error_dict:
                return
        super()._update_errors(errors)

    def clean(self):
        cleaned = super().clean()
        industry = cleaned.get("industry")
        if industry is None:
            return cleaned
        allowed = industry_setting_names(industry)
        # What the person did not touch stays exactly as stored (types, order, empty lists).
        keep = stored_settings(self.instance) if "industry" not in self.changed_data else {}
        settings = {name: value for name, value in keep.items() if name in allowed}
        for name in allowed:
            if SETTING_PREFIX + name not in self.changed_data:
                continue
            value = cleaned.get(SETTING_PREFIX + name)
            if value in (None, "", []):
                settings.pop(name, None)
            else:
                settings[name] = value
        problems = industry.settings_problems(settings)
        for path, message in problems:
            field = SETTING_PREFIX + str(path[0]) if path and path[0] in allowed else None
            self.add_error(field if field in self.fields else None, message)
        if not problems:
            try:  # the size limit too, here, where the error can be shown on the form
                ModelIndustryProfile._meta.get_field("settings").run_validators(settings)
            except ValidationError as error:
                self.add_error(None, error)
                return cleaned
            self.instance.settings = settings  # only settings that pass the rules reach the profile
        return cleaned


def profile_form_for(industries: list[Industry]) -> type[IndustryProfileForm]:
    """IndustryProfileForm with a field for every setting any industry defines."""
    fields = {}
    for industry in industries:
        for name, schema in setting_properties(industry).items():
            fields.setdefault(SETTING_PREFIX + name, setting_field(schema))
    return type("IndustryProfileForm", (IndustryProfileForm,), fields)


class IndustryProfileFormSet(forms.BaseInlineFormSet):
    """A model's industry profiles in the admin, checked as a whole as every door checks them
    (`checked_profiles`: how many, the size of all their settings together)."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return  # each profile's own errors first
        _profiles, problems = checked_profiles(self.wanted() or [])
        if problems:
            raise ValidationError(problems)

    def wanted(self) -> list[ProfileInput] | None:
        """The industry profiles asked for, or None when they were left as they were."""
        if not self.has_changed():
            return None
        return [
            ProfileInput(industry=form.cleaned_data["industry"], enabled=form.cleaned_data["enabled"],
                         settings=form.instance.settings)
            for form in self.forms
            if form.cleaned_data.get("industry") is not None and form not in self.deleted_forms
        ]  # fmt: skip
