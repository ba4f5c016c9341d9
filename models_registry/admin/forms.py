"""The admin's forms: the model form, and industry profiles whose settings are real form
fields generated from each industry's JSON Schema."""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse

from audit.history import decimal_text
from audit.models import AuditEntry
from models_registry.choices import Capability
from models_registry.models import AIModel, Industry, ModelIndustryProfile
from models_registry.services.aimodels import editable_field_names

SETTING_PREFIX = "setting__"


class LinesField(forms.CharField):
    """A list of texts, one per line."""

    widget = forms.Textarea(attrs={"rows": 2})

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list) else value

    def split(self, text: str) -> list[str]:
        return text.splitlines()

    def to_python(self, value):
        return [part.strip() for part in self.split(value or "") if part.strip()]

    def has_changed(self, initial, data):
        return self.to_python(self.prepare_value(initial or [])) != self.to_python(data)


class NamesField(LinesField):
    """A list of names, one per line; commas separate too (a name cannot contain one)."""

    def split(self, text: str) -> list[str]:
        return text.replace(",", "\n").splitlines()


def changes_since(model: AIModel, loaded_version: int) -> list[str]:
    """What others changed on `model` after the version someone loaded, one line per field."""
    history = model.history.filter(version=loaded_version).order_by("-history_date").first()
    entries = AuditEntry.objects.filter(object_type="aimodel", object_id=str(model.pk))
    if history is not None:
        entries = entries.filter(timestamp__gt=history.history_date)
    lines = []
    for entry in entries.order_by("timestamp", "id"):
        who = entry.username or "someone"
        for field, change in sorted(entry.changes.items()):
            lines.append(f"{who} ({entry.source}, {entry.timestamp:%H:%M:%S}) changed {field}: "
                         f"{change.get('old')!r} → {change.get('new')!r}")  # fmt: skip
    return lines


class PriceField(forms.DecimalField):
    """Shows 2.5 rather than 2.5000000000."""

    def prepare_value(self, value):
        return decimal_text(value) if isinstance(value, Decimal) else value


class AIModelForm(forms.ModelForm):
    capabilities = forms.MultipleChoiceField(
        choices=Capability.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    aliases = NamesField(required=False, help_text="Other names that resolve to this model, one per line.")
    loaded_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    change_reason = forms.CharField(
        required=False, max_length=500, label="Reason for this change", help_text="Kept in the audit log."
    )

    class Meta:
        model = AIModel
        fields = editable_field_names()
        field_classes = {"input_cost_per_million_tokens": PriceField, "output_cost_per_million_tokens": PriceField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A field the person may only read is not in the form at all (a viewer's form has
        # none): each tweak applies to the fields that are there.
        fields = self.fields
        if self.instance.pk and "loaded_version" in fields:
            fields["loaded_version"].initial = self.instance.version
        for name in ("context_window", "max_output_tokens"):
            if name in fields:
                fields[name].widget.attrs["class"] = "vBigIntegerField"  # room for 100,000,000
        if "name" in fields:
            fields["name"].widget.attrs["data-name-check-url"] = reverse("admin:models_registry_aimodel_check_name")
            fields["name"].widget.attrs["data-model-id"] = self.instance.pk or ""

    def clean(self):
        cleaned = super().clean()
        loaded = cleaned.get("loaded_version")
        if self.instance.pk and loaded is not None:
            # Locked until this save commits: no other save can slip in between check and write.
            rows = AIModel.objects.all()
            if transaction.get_connection().in_atomic_block:
                rows = rows.select_for_update()
            stored = rows.filter(pk=self.instance.pk).first()
            if stored is not None and stored.version != loaded:
                lines = changes_since(stored, loaded)
                raise ValidationError(
                    [
                        "Someone else saved this model after you opened it, so your changes were not saved. "
                        "Their changes:",
                        *lines,
                        "Reload the page to see the current values, then make your changes again.",
                    ]
                )
        return cleaned


def setting_field(schema: dict) -> forms.Field:
    """A form field for one property of an industry's settings schema."""
    label, help_text = schema.get("title"), schema.get("description", "")
    common = {"required": False, "label": label, "help_text": help_text}
    kind, items = schema.get("type"), schema.get("items", {})
    if "enum" in schema:
        return forms.ChoiceField(choices=[("", "—"), *[(v, v) for v in schema["enum"]]], **common)
    if kind == "boolean":
        return forms.NullBooleanField(**common)
    if kind == "integer":
        return forms.IntegerField(min_value=schema.get("minimum"), max_value=schema.get("maximum"), **common)
    if kind == "number":
        return forms.FloatField(min_value=schema.get("minimum"), max_value=schema.get("maximum"), **common)
    if kind == "array" and "enum" in items:
        return forms.MultipleChoiceField(
            choices=[(v, v) for v in items["enum"]], widget=forms.CheckboxSelectMultiple, **common
        )
    if kind == "array":
        return LinesField(**common)
    if kind == "string":
        return forms.CharField(max_length=schema.get("maxLength"), **common)
    return forms.JSONField(**common)


def industry_setting_names(industry: Industry) -> list[str]:
    return list(industry.settings_schema.get("properties", {}))


class IndustryProfileForm(forms.ModelForm):
    """Settings appear as the fields of every industry's schema; the page shows those of
    the chosen industry. Only settings that pass the industry's rules reach the profile."""

    class Meta:
        model = ModelIndustryProfile
        fields = ["industry", "enabled"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        settings = self.instance.settings or {}
        for name in self.setting_fields:
            value = settings.get(name[len(SETTING_PREFIX) :])
            if value is not None:
                self.initial[name] = value

    @property
    def setting_fields(self) -> list[str]:
        return [name for name in self.fields if name.startswith(SETTING_PREFIX)]

    def clean(self):
        cleaned = super().clean()
        industry = cleaned.get("industry")
        if industry is None:
            return cleaned
        allowed = industry_setting_names(industry)
        # What the person did not touch stays exactly as stored (types, order, empty lists).
        keep = self.instance.settings if "industry" not in self.changed_data else {}
        settings = {name: value for name, value in (keep or {}).items() if name in allowed}
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
            self.add_error(field, message)
        if not problems:
            self.instance.settings = settings  # only settings that pass the rules reach the profile
        return cleaned


def profile_form_for(industries: list[Industry]) -> type[IndustryProfileForm]:
    """IndustryProfileForm with a field for every setting any industry defines."""
    fields = {}
    for industry in industries:
        for name, schema in industry.settings_schema.get("properties", {}).items():
            fields.setdefault(SETTING_PREFIX + name, setting_field(schema))
    return type("IndustryProfileForm", (IndustryProfileForm,), fields)
