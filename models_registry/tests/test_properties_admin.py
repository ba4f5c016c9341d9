"""Properties 1, 6, 7, 10, 12, 14 and 16, through the admin staff actually use.

Every test drives the real admin with Django's test `Client` and reads what a browser
would: the HTML of the list, the form and the result pages (parsed below), and the data a
browser would submit from a form. What the admin claims is then checked against what is
stored, read back from the database.
"""

import csv
import datetime
import functools
import io
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from decimal import Decimal
from html.parser import HTMLParser

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.test import Client, override_settings
from django.utils import timezone
from django.utils.html import escape
from hypothesis import assume, example, given, note
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from accounts.roles import ROLE_GROUPS
from accounts.sessions import AUTHENTICATED_AT, SIGNED_IN_AT
from accounts.views import PENDING_POST
from audit.choices import AuditAction, ChangeSource
from audit.models import AuditEntry
from audit.tests.factories import AuditEntryFactory
from models_registry.choices import STATUS_BY_BULK_ACTION, BulkAction, Capability, ModelStatus, ModelType
from models_registry.limits import PROFILES_SETTINGS_MAX_BYTES, json_size
from models_registry.models import AIModel, Industry, ModelDependency, ModelIndustryProfile, RegisteredName
from models_registry.selectors import catalog_version
from models_registry.services import ProfileInput, aimodel_create, aimodel_update, dependency_register
from models_registry.tests import strategies
from models_registry.tests.factories import ProviderFactory

PASSWORD = "correct horse battery staple"
CHANGELIST = "/admin/models_registry/aimodel/"
AUDIT_CHANGELIST = "/admin/audit/auditentry/"
AUDIT_EXPORT = "/admin/audit/auditentry/export.csv"
LOGIN = "/admin/login/"
REAUTHENTICATE = "/admin/reauthenticate/"
KEEPALIVE = "/admin/keepalive/"
EMPTY = "-"  # the admin's empty_value_display
FORM_ID = "aimodel_form"
PROFILES = "industry_profiles"  # the inline formset's prefix

# Every field a person edits, as the API contract lists them (docs/contract.md §1).
FORM_FIELDS = [
    "name",
    "display_name",
    "provider",
    "model_type",
    "capabilities",
    "context_window",
    "max_output_tokens",
    "input_cost_per_million_tokens",
    "output_cost_per_million_tokens",
    "status",
    "deprecation_date",
    "sunset_date",
    "successor",
    "description",
    "metadata",
    "aliases",
]


def change_url(pk) -> str:
    return f"{CHANGELIST}{pk}/change/"


def delete_url(pk) -> str:
    return f"{CHANGELIST}{pk}/delete/"


def history_url(pk) -> str:
    return f"{CHANGELIST}{pk}/history/"


# =====================================================================================
# Reading pages as a browser does
# =====================================================================================

VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass(eq=False)
class Node:
    tag: str
    attrs: dict
    children: list = field(default_factory=list)

    def walk(self):
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.walk()

    def find_all(self, tag=None, **attrs) -> list["Node"]:
        return [
            node
            for node in self.walk()
            if (tag is None or node.tag == tag) and all(node.attrs.get(k) == v for k, v in attrs.items())
        ]

    def find(self, tag=None, **attrs) -> "Node | None":
        found = self.find_all(tag, **attrs)
        return found[0] if found else None

    def elements(self, *tags) -> list["Node"]:
        return [child for child in self.children if isinstance(child, Node) and child.tag in tags]

    @property
    def classes(self) -> list[str]:
        return self.attrs.get("class", "").split()

    def text(self) -> str:
        return "".join(
            child if isinstance(child, str) else ("\n" if child.tag == "br" else child.text())
            for child in self.children
        )


class _TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {name: "" if value is None else value for name, value in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID_TAGS:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(Node(tag, {name: "" if value is None else value for name, value in attrs}))

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, 0, -1):
            if self.stack[index].tag == tag:
                del self.stack[index:]
                return

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def parse_html(content) -> Node:
    builder = _TreeBuilder()
    builder.feed(content.decode() if isinstance(content, bytes) else content)
    builder.close()
    return builder.root


def form_fields(page: Node, form_id: str, *, template_prefix: str | None = None) -> dict[str, list[str]]:
    """What a browser submits from the form: each successful control's name and values.

    With `template_prefix`, only the controls of that inline's empty-form template
    (`<prefix>-__prefix__-...`), keyed by the part after it: what the "Add another" button
    copies into a new form.
    """
    form = page.find("form", id=form_id)
    assert form is not None, f"no <form id={form_id!r}> on the page"
    data: dict[str, list[str]] = {}
    for node in form.walk():
        name = node.attrs.get("name")
        if not name:
            continue
        if template_prefix is None and "__prefix__" in name:
            continue
        if template_prefix is not None:
            marker = f"{template_prefix}-__prefix__-"
            if not name.startswith(marker):
                continue
            name = name[len(marker) :]
        values = data.setdefault(name, [])
        if node.tag == "input":
            kind = node.attrs.get("type", "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in node.attrs:
                    values.append(node.attrs.get("value", "on"))
            elif kind not in ("submit", "button", "image", "reset", "file"):
                values.append(node.attrs.get("value", ""))
        elif node.tag == "textarea":
            text = node.text()
            values.append(text[1:] if text.startswith("\n") else text)  # HTML drops one leading newline
        elif node.tag == "select":
            options = [
                (option.attrs.get("value", option.text()), "selected" in option.attrs)
                for option in node.find_all("option")
            ]
            chosen = [value for value, selected in options if selected]
            if "multiple" not in node.attrs:
                chosen = chosen[-1:] or [value for value, _ in options[:1]]
            values.extend(chosen)
    return {name: values for name, values in data.items() if values}


def control_names(page: Node, form_id: str) -> set[str]:
    """Every named control in the form, filled in or not."""
    form = page.find("form", id=form_id)
    return {
        node.attrs["name"]
        for node in form.walk()
        if node.tag in ("input", "select", "textarea")
        and node.attrs.get("name")
        and "__prefix__" not in node.attrs["name"]
    }


def result_rows(page: Node) -> list[tuple[str | None, str | None, dict[str, str]]]:
    """The rows of the admin's result table: (selected-action value, link, {column: text})."""
    table = page.find("table", id="result_list")
    if table is None:
        return []
    rows = []
    for row in table.find("tbody").elements("tr"):
        cells, selected, link = {}, None, None
        for cell in row.elements("td", "th"):
            column = next((name[len("field-") :] for name in cell.classes if name.startswith("field-")), None)
            if column is not None:
                cells[column] = cell.text()
            box = cell.find("input", name="_selected_action")
            if box is not None:
                selected = box.attrs["value"]
            anchor = cell.find("a")
            if link is None and anchor is not None and cell.tag == "th":
                link = anchor.attrs.get("href")
        rows.append((selected, link, cells))
    return rows


def by_class(page: Node, tag: str, name: str) -> Node:
    return next(node for node in page.find_all(tag) if name in node.classes)


def page_of(response) -> Node:
    return parse_html(response.content)


def post_data(data: dict[str, list[str]]) -> dict[str, list[str]]:
    return {name: list(values) for name, values in data.items()}


# =====================================================================================
# People
# =====================================================================================

_numbers = itertools.count()


def staff(role: str | None = "admin", *, superuser: bool = False):
    User = get_user_model()
    number = next(_numbers)
    if superuser:
        return User.objects.create_superuser(f"root-{number}", f"root-{number}@example.com", PASSWORD)
    user = User.objects.create_user(f"{role}-{number}", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=ROLE_GROUPS[role]))
    return user


def signed_in(user, **client_options) -> Client:
    client = Client(**client_options)
    client.force_login(user)
    return client


def last_audit_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def audit_entries_after(mark: int) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(id__gt=mark).order_by("id"))


# =====================================================================================
# Generated models, as the admin can show and take them back
# =====================================================================================

# Text a person types into the form: no control characters but tab and newline (the
# registry refuses the others). The admin strips surrounding whitespace, as Django forms
# do, and a one-line <input> cannot hold a line break, so generated values come in that
# shape already.
one_line = st.text(st.characters(exclude_categories=["Cs", "Cc"], include_characters="\t"), max_size=60).map(str.strip)
free_text = st.text(strategies.typed, max_size=80).map(str.strip)
# An approved use case as one line of the textarea (NamesField splits on line breaks and
# commas: see test_a_use_case_containing_a_comma_survives_an_unchanged_save).
use_case = (
    st.text(st.characters(categories=["L", "N", "Zs", "Pd", "Po"], exclude_characters=",\x85"), max_size=40)
    .map(str.strip)
    .filter(bool)
)

MODEL_FIELDS = {
    "display_name": st.text(strategies.label_characters, max_size=60).map(str.strip),
    "model_type": st.sampled_from(ModelType.values),
    "capabilities": st.lists(st.sampled_from(Capability.values), max_size=6),
    "context_window": strategies.VALID_FIELDS["context_window"],
    "max_output_tokens": strategies.VALID_FIELDS["max_output_tokens"],
    "input_cost_per_million_tokens": st.none() | strategies.costs,
    "output_cost_per_million_tokens": st.none() | strategies.costs,
    "status": st.sampled_from(ModelStatus.values),
    "deprecation_date": st.none() | st.dates(),
    "description": free_text,
    "metadata": strategies.metadata,
    "aliases": strategies.alias_lists,
}
model_fields = st.fixed_dictionaries({}, optional=MODEL_FIELDS)


@functools.cache
def industry_schemas() -> dict[int, dict]:
    """{industry id: settings JSON Schema} of the starter industries (migration data)."""
    return dict(Industry.objects.order_by("pk").values_list("pk", "settings_schema"))


def setting_values(schema: dict) -> st.SearchStrategy:
    """Valid values of one setting, from its JSON Schema (non-empty: see the empty-list test)."""
    kind, items = schema.get("type"), schema.get("items", {})
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(schema["minimum"], schema["maximum"])
    if kind == "number":
        low, high = schema["minimum"], schema["maximum"]
        return st.integers(low, high) | st.floats(low, high, allow_nan=False)
    if kind == "array" and "enum" in items:
        return st.lists(st.sampled_from(items["enum"]), min_size=1, max_size=3, unique=True)
    if kind == "array":
        return st.lists(use_case, min_size=1, max_size=3, unique=True)
    if kind == "string":
        return one_line.filter(bool)
    raise AssertionError(f"no strategy for setting schema {schema}")


def industry_settings(industry_id: int) -> st.SearchStrategy:
    properties = industry_schemas()[industry_id]["properties"]
    return st.fixed_dictionaries({}, optional={name: setting_values(schema) for name, schema in properties.items()})


@functools.cache
def industry_ids() -> dict[str, int]:
    return dict(Industry.objects.values_list("slug", "pk"))


@st.composite
def model_specs(draw, *, max_profiles=2) -> dict:
    """A model to create, as plain values: {"name", "fields", "profiles": {slug: (enabled, settings)}}."""
    fields = draw(model_fields, label="fields")
    slugs = draw(st.lists(st.sampled_from(sorted(industry_ids())), unique=True, max_size=max_profiles))
    profiles = {
        slug: (draw(st.booleans(), label="enabled"), draw(industry_settings(industry_ids()[slug]), label="settings"))
        for slug in slugs
    }
    return {"name": draw(strategies.names, label="name"), "fields": fields, "profiles": profiles}


def create_from_spec(spec: dict, *, provider, successor=None, actor=None) -> AIModel:
    profiles = {industry_ids()[slug]: profile for slug, profile in spec["profiles"].items()}
    return aimodel_create(
        actor=actor,
        provider=provider,
        name=spec["name"],
        successor=successor,
        industries=profile_inputs(profiles),
        **spec["fields"],
    )


def profile_inputs(profiles: dict[int, tuple[bool, dict]]) -> list[ProfileInput]:
    industries = Industry.objects.in_bulk(list(profiles))
    return [
        ProfileInput(industry=industries[pk], enabled=enabled, settings=settings)
        for pk, (enabled, settings) in profiles.items()
    ]


def draw_model(data, *, provider, actor=None, successor=None, max_profiles=2) -> AIModel:
    """A generated model, created through the service (its names not yet taken)."""
    spec = data.draw(model_specs(max_profiles=max_profiles), label="model")
    names = [spec["name"].lower(), *(alias.lower() for alias in spec["fields"].get("aliases", []))]
    assume(not RegisteredName.objects.filter(name__in=names).exists())
    return create_from_spec(spec, provider=provider, successor=successor, actor=actor)


def stored_values(pk) -> dict:
    """A model's editable fields as stored, in the shapes the form deals in."""
    model = AIModel.objects.get(pk=pk)
    return {
        "name": model.name,
        "display_name": model.display_name,
        "provider": model.provider_id,
        "model_type": model.model_type,
        "capabilities": sorted(model.capabilities),
        "context_window": model.context_window,
        "max_output_tokens": model.max_output_tokens,
        "input_cost_per_million_tokens": model.input_cost_per_million_tokens,
        "output_cost_per_million_tokens": model.output_cost_per_million_tokens,
        "status": model.status,
        "deprecation_date": model.deprecation_date,
        "sunset_date": model.sunset_date,
        "successor": model.successor_id,
        "description": model.description,
        "metadata": model.metadata,
        "aliases": list(model.aliases),
    }


def stored_profiles(pk) -> dict[int, tuple[bool, dict]]:
    return {
        profile.industry_id: (profile.enabled, profile.settings)
        for profile in ModelIndustryProfile.objects.filter(model_id=pk)
    }


def canonical_profiles(profiles: dict[int, tuple[bool, dict]]) -> dict[int, tuple[bool, dict]]:
    """Profiles with enum lists as sets (checkboxes come back in the order of the choices)."""

    def canonical(industry, settings):
        properties = industry_schemas()[industry]["properties"]
        return {
            name: sorted(value) if "enum" in properties[name].get("items", {}) else value
            for name, value in settings.items()
        }

    return {industry: (enabled, canonical(industry, s)) for industry, (enabled, s) in profiles.items()}


def whole_state(pk) -> dict:
    """Everything a form post could change, and the logs it would add to."""
    model = AIModel.objects.filter(pk=pk).first()
    return {
        "values": stored_values(pk) if model else None,
        "version": model.version if model else None,
        "updated_at": model.updated_at if model else None,
        "profiles": stored_profiles(pk),
        "names": sorted(RegisteredName.objects.filter(model_id=pk).values_list("name", flat=True)),
        "audit": last_audit_id(),
        "catalog": catalog_version(),
    }


def shown_values(submitted: dict[str, list[str]]) -> dict:
    """The model as the browser would send it back, decoded into stored shapes."""

    def one(name):
        return (submitted.get(name) or [""])[0]

    def maybe(name, kind):
        text = one(name)
        return kind(text) if text else None

    return {
        "name": one("name"),
        "display_name": one("display_name"),
        "provider": maybe("provider", int),
        "model_type": one("model_type"),
        "capabilities": sorted(submitted.get("capabilities", [])),
        "context_window": maybe("context_window", int),
        "max_output_tokens": maybe("max_output_tokens", int),
        "input_cost_per_million_tokens": maybe("input_cost_per_million_tokens", Decimal),
        "output_cost_per_million_tokens": maybe("output_cost_per_million_tokens", Decimal),
        "status": one("status"),
        "deprecation_date": maybe("deprecation_date", datetime.date.fromisoformat),
        "sunset_date": maybe("sunset_date", datetime.date.fromisoformat),
        "successor": maybe("successor", int),
        "description": one("description"),
        "metadata": json.loads(one("metadata")),
        "aliases": [line for line in one("aliases").split("\n") if line],
    }


def decode_setting(schema: dict, values: list[str]):
    kind, items = schema.get("type"), schema.get("items", {})
    if kind == "array" and "enum" in items:
        return list(values) or None
    text = values[0] if values else ""
    if "enum" in schema:
        return text or None
    if kind == "boolean":
        return {"true": True, "false": False}.get(text)
    if kind == "integer":
        return int(text) if text else None
    if kind == "number":
        return float(text) if text else None
    if kind == "array":
        return [line for line in text.split("\n") if line] or None
    return text or None


def encode_setting(schema: dict, value) -> list[str]:
    kind, items = schema.get("type"), schema.get("items", {})
    if kind == "array" and "enum" in items:
        return [choice for choice in items["enum"] if choice in value]  # checkboxes, in page order
    if "enum" in schema:
        return [value]
    if kind == "boolean":
        return ["true" if value else "false"]
    if kind in ("integer", "number"):
        return [repr(value)]
    if kind == "array":
        return ["\n".join(value)]
    return [value]


def shown_profiles(submitted: dict[str, list[str]]) -> dict[int, tuple[bool, dict]]:
    """The inline industry profiles as the browser would send them back (DELETE-marked ones left out)."""
    profiles = {}
    for index in range(int(submitted[f"{PROFILES}-TOTAL_FORMS"][0])):
        prefix = f"{PROFILES}-{index}-"
        if prefix + "DELETE" in submitted or not (submitted.get(prefix + "industry") or [""])[0]:
            continue
        industry = int(submitted[prefix + "industry"][0])
        settings = {}
        for name, schema in industry_schemas()[industry]["properties"].items():
            value = decode_setting(schema, submitted.get(f"{prefix}setting__{name}", []))
            if value is not None:
                settings[name] = value
        profiles[industry] = (prefix + "enabled" in submitted, settings)
    return profiles


def encode_field(name: str, value) -> list[str]:
    """A field's value as a person enters it into the form."""
    if name == "capabilities":
        return [choice for choice in Capability.values if choice in value]  # checkboxes, in page order
    if name == "aliases":
        return ["\n".join(value)]
    if name == "metadata":
        return [json.dumps(value, ensure_ascii=False)]
    if value is None:
        return [""]
    if isinstance(value, Decimal):
        return [format(value, "f")]
    if isinstance(value, datetime.date):
        return [value.isoformat()]
    if hasattr(value, "pk"):
        return [str(value.pk)]
    return [str(value)]


def profile_index(submitted: dict[str, list[str]], industry: int) -> int:
    for index in range(int(submitted[f"{PROFILES}-TOTAL_FORMS"][0])):
        if submitted.get(f"{PROFILES}-{index}-industry") == [str(industry)]:
            return index
    raise AssertionError(f"no inline form for industry {industry}")


def set_profile(submitted, index: int, industry: int, enabled: bool, settings: dict, *, blank: dict) -> None:
    """Fill in inline form `index` as a person would: the industry, the checkbox, and each
    setting, every other setting left as the empty form shows it (`blank`, the template)."""
    prefix = f"{PROFILES}-{index}-"
    for name in [key for key in submitted if key.startswith(prefix + "setting__")]:
        del submitted[name]
    for name, values in blank.items():
        if name.startswith("setting__"):
            submitted[prefix + name] = list(values)
    submitted[prefix + "industry"] = [str(industry)]
    if enabled:
        submitted[prefix + "enabled"] = ["on"]
    else:
        submitted.pop(prefix + "enabled", None)
    properties = industry_schemas()[industry]["properties"]
    for name, value in settings.items():
        submitted[f"{prefix}setting__{name}"] = encode_setting(properties[name], value)


def add_profile_form(submitted, template: dict[str, list[str]]) -> int:
    """Press "Add another": a copy of the empty-form template; returns its index."""
    index = int(submitted[f"{PROFILES}-TOTAL_FORMS"][0])
    for name, values in template.items():
        submitted[f"{PROFILES}-{index}-{name}"] = list(values)
    submitted[f"{PROFILES}-TOTAL_FORMS"] = [str(index + 1)]
    return index


def price_shown(text: str):
    return None if text == "—" else Decimal(text)


# =====================================================================================
# Property 1: Model Display Completeness
# =====================================================================================


class TestProperty1ModelDisplayCompleteness(TestCase):
    """Property 1: every stored field of every model is on screen: in its row of the list
    (name, display name, provider, type, status, context window, prices, dependency count,
    last change and who) or in its change form (every editable field, its industry
    profiles with their settings, its dependencies); creation shows in its history."""

    def test_the_form_has_a_control_for_every_editable_field_of_the_model(self):
        editable = {f.name for f in AIModel._meta.concrete_fields if f.editable and not f.primary_key}
        assert editable == set(FORM_FIELDS)

    @given(st.data())
    def test_every_field_of_every_model_is_shown(self, data):
        editor = staff("editor")
        providers = [ProviderFactory(), ProviderFactory()]
        registry = []
        for _ in range(data.draw(st.integers(1, 3), label="models")):
            successor = data.draw(st.none() | st.sampled_from(registry)) if registry else None
            actor = data.draw(st.sampled_from([None, editor]), label="actor")
            model = draw_model(data, provider=data.draw(st.sampled_from(providers)), actor=actor, successor=successor)
            for number in range(data.draw(st.integers(0, 2), label="dependencies")):
                dependency_register(model=model, component_type="agent", component_id=f"a{number}", actor=None)
            registry.append(model)
        client = signed_in(staff(superuser=True))

        rows = {selected: cells for selected, _, cells in result_rows(page_of(client.get(CHANGELIST)))}

        assert set(rows) == {str(model.pk) for model in registry}
        for model in AIModel.objects.filter(pk__in=[m.pk for m in registry]).select_related("provider"):
            cells = rows[str(model.pk)]
            shown_when, shown_who = cells["last_change"].split("\n")
            assert cells["name"] == model.name
            assert cells["display_name"] == (model.display_name or EMPTY)
            assert cells["provider"] == model.provider.slug
            assert cells["model_type"] == model.get_model_type_display()
            assert cells["status_badge"] == model.get_status_display()
            assert cells["context_window"] == (EMPTY if model.context_window is None else str(model.context_window))
            assert price_shown(cells["input_price"]) == model.input_cost_per_million_tokens
            assert price_shown(cells["output_price"]) == model.output_cost_per_million_tokens
            assert int(cells["dependency_total"]) == ModelDependency.objects.filter(model=model).count()
            assert shown_when == timezone.localtime(model.updated_at).strftime("%Y-%m-%d %H:%M")
            assert shown_who == (model.updated_by or "—")

        shown = data.draw(st.sampled_from(registry), label="opened")
        page = page_of(client.get(change_url(shown.pk)))
        submitted = form_fields(page, FORM_ID)

        assert set(FORM_FIELDS) <= control_names(page, FORM_ID)
        assert shown_values(submitted) == stored_values(shown.pk)
        assert canonical_profiles(shown_profiles(submitted)) == canonical_profiles(stored_profiles(shown.pk))
        assert submitted["loaded_version"] == [str(AIModel.objects.get(pk=shown.pk).version)]
        dependencies = page.find("div", id="dependencies-group")
        listed = dependencies.text() if dependencies is not None else ""
        for component_id in ModelDependency.objects.filter(model=shown).values_list("component_id", flat=True):
            assert f"agent:{component_id}" in listed

        history = page_of(client.get(history_url(shown.pk))).find("table", id="change-history")
        created = [row.elements("td") for row in history.find("tbody").elements("tr")][-1]
        when, who, what = (cell.text() for cell in created[:3])
        stored = AIModel.objects.get(pk=shown.pk)
        assert what == "create"
        assert who == (stored.created_by or "system")
        shown_created = datetime.datetime.strptime(when, "%Y-%m-%d %H:%M:%S").replace(tzinfo=datetime.UTC)
        assert abs(shown_created - stored.created_at.replace(microsecond=0)) <= datetime.timedelta(seconds=1)


# =====================================================================================
# Property 6: Edit Form Population Accuracy
# =====================================================================================


class TestProperty6EditFormPopulationAccuracy(TestCase):
    """Property 6: the change form opens with exactly the stored values (the form's initial
    data and what its HTML would submit), and saving it untouched changes nothing."""

    # A profile without approved use cases whose list setting is not in the order of the
    # checkboxes: an untouched save rewrites it and audits a change nobody made.
    @example(
        {"name": "n-untouched", "fields": {}, "profiles": {"general": (True, {"certifications": ["GDPR", "HIPAA"]})}},
        True,
    )
    @given(model_specs(max_profiles=3), st.booleans())
    def test_the_form_opens_with_exactly_the_stored_values(self, spec, with_successor):
        provider = ProviderFactory()
        peer = aimodel_create(actor=None, provider=provider, name="peer-model")
        model = create_from_spec(spec, provider=provider, successor=peer if with_successor else None)
        client = signed_in(staff("editor"))
        before = whole_state(model.pk)

        response = client.get(change_url(model.pk))

        form = response.context["adminform"].form
        stored = stored_values(model.pk)
        initial = {name: initial_value(form, name) for name in FORM_FIELDS}
        assert {**initial, "capabilities": sorted(initial["capabilities"])} == stored
        assert initial_value(form, "loaded_version") == before["version"]
        assert initial_value(form, "change_reason") in (None, "")
        (profiles_formset,) = [
            inline.formset for inline in response.context["inline_admin_formsets"] if inline.formset.prefix == PROFILES
        ]
        initial_profiles = {}
        for profile_form in profiles_formset.forms:
            industry = initial_value(profile_form, "industry")
            names = industry_schemas()[industry]["properties"]
            settings = {name: initial_value(profile_form, f"setting__{name}") for name in names}
            initial_profiles[industry] = (
                initial_value(profile_form, "enabled"),
                {name: value for name, value in settings.items() if value is not None},
            )
        assert initial_profiles == stored_profiles(model.pk)

        submitted = form_fields(page_of(response), FORM_ID)
        assert shown_values(submitted) == stored
        assert canonical_profiles(shown_profiles(submitted)) == canonical_profiles(stored_profiles(model.pk))

        saved = client.post(change_url(model.pk), post_data(submitted))

        assert saved.status_code == 302, form_errors(saved)
        after = whole_state(model.pk)
        assert after == before  # the catalog version included: nothing changed, no new version


def initial_value(form, name: str):
    """What an unbound form starts a field with (before the widget formats it)."""
    return form.get_initial_for_field(form.fields[name], name)


def form_errors(response) -> dict:
    """Every field error of the model form and its inlines (for assertion messages)."""
    if response.context is None or "adminform" not in response.context:
        return {"status": response.status_code}
    errors = {"form": response.context["adminform"].form.errors.get_json_data()}
    for inline in response.context["inline_admin_formsets"]:
        errors[inline.formset.prefix] = [form.errors.get_json_data() for form in inline.formset.forms]
        errors[inline.formset.prefix + "-nonform"] = list(inline.formset.non_form_errors())
    return errors


# =====================================================================================
# Property 7: Update Validation and Persistence
# =====================================================================================

# What a person can post: checkboxes cannot send a capability twice.
EDITS = {
    **MODEL_FIELDS,
    "name": strategies.names,
    "capabilities": st.lists(st.sampled_from(Capability.values), max_size=6, unique=True),
}

# Values a person can type that the admin must refuse, by field (Property 10 uses them too).
PRICE_TYPOS = ["-0.01", "1000000", "12345678", "0.00000000001", "1e-11", "abc", "NaN", "Infinity"]
BAD_INPUTS = {
    "name": st.sampled_from(["", "-leading-dash", "has space", "ünïcode", "n" * 201, "semi;colon", "<peer name>"]),
    "display_name": st.sampled_from(["d" * 201, "bell\x07ring"]),
    "description": st.sampled_from(["vertical\x0btab", "escape \x1b[31m red"]),
    "context_window": st.sampled_from(["0", "-5", "100000001", "1.5", "many"]),
    "max_output_tokens": st.sampled_from(["-1", "100000001", "ten"]),
    "input_cost_per_million_tokens": st.sampled_from(PRICE_TYPOS),
    "output_cost_per_million_tokens": st.sampled_from(PRICE_TYPOS),
    "deprecation_date": st.sampled_from(["2024-13-01", "soon", "2023-02-29"]),
    "sunset_date": st.sampled_from(["2024-13-01", "later", "2023-02-29"]),
    "metadata": st.sampled_from(["[1, 2]", '"x"', "3", "{not json", '{"k": "v\\u0000"}']),
    "aliases": st.sampled_from(["bad alias", "-dash", "aDup\nadup", "<peer name>", "<peer alias>"]),
    "successor": st.sampled_from(["<itself>", "<its predecessor>"]),
}
BAD_SETTINGS = {
    "max_temperature": ["3", "-0.5", "warm"],
    "minimum_user_age": ["22", "-1", "1.5"],
    "notes": ["x" * 2001],
    "approved_use_cases": ["y" * 101],
}


def bad_text(value: str, *, model: AIModel, peer: AIModel) -> str:
    """A BAD_INPUTS value made concrete for this model and its peer."""
    return {
        "<peer name>": peer.name.swapcase(),
        "<peer alias>": peer.aliases[0].upper(),
        "<itself>": str(model.pk),
        "<its predecessor>": str(peer.pk),
    }.get(value, value)


PROFILE_CHANGES = ["keep", "toggle", "settings", "delete"]


@st.composite
def edit_scenarios(draw) -> dict:
    """A model, and what a person does to it in the change form, as plain values."""
    spec = draw(model_specs())
    changes = {}
    for slug in spec["profiles"]:
        change = draw(st.sampled_from(PROFILE_CHANGES), label=f"{slug} change")
        new_settings = draw(industry_settings(industry_ids()[slug])) if change == "settings" else None
        changes[slug] = (change, new_settings)
    unused = sorted(set(industry_ids()) - set(spec["profiles"]))
    added = {}
    for slug in draw(st.lists(st.sampled_from(unused), max_size=1), label="added"):
        added[slug] = (draw(st.booleans()), draw(industry_settings(industry_ids()[slug])))
    field = st.sampled_from(sorted(BAD_INPUTS))
    return {
        "model": spec,
        "edits": draw(st.fixed_dictionaries({}, optional=EDITS), label="edits"),
        "provider": draw(st.sampled_from(["keep", "other"]), label="provider"),
        "successor": draw(st.sampled_from(["keep", "none", "peer"]), label="successor"),
        "profiles": changes,
        "added": added,
        "reason": draw(one_line, label="reason"),
        "invalid": draw(st.none() | field.flatmap(lambda f: st.tuples(st.just(f), BAD_INPUTS[f])), label="invalid"),
    }


def scenario(profiles: dict, changes: dict, **overrides) -> dict:
    """An explicit edit scenario: the model's profiles and what happens to each."""
    return {
        "model": {"name": "n-explicit", "fields": {}, "profiles": profiles},
        "edits": {},
        "provider": "keep",
        "successor": "keep",
        "profiles": changes,
        "added": {},
        "reason": "",
        "invalid": None,
        **overrides,
    }


class TestProperty7UpdateValidationAndPersistence(TestCase):
    """Property 7: a valid edit posted through the change form is stored exactly as posted,
    with one audit entry per changed object (source admin, the editor, the reason given,
    exactly the fields that changed); an edit with any invalid value changes nothing at all."""

    # A profile changed in the same form: its entry must carry the reason too.
    @example(
        scenario(
            {"general": (True, {"personal_data_allowed": True})},
            {"general": ("toggle", None)},
            edits={"display_name": "Renamed"},
            reason="quarterly review",
        )
    )
    # A profile only switched off: its entry says "enabled", and its settings stay as stored.
    @example(
        scenario(
            {"general": (True, {"certifications": ["GDPR", "HIPAA"], "max_temperature": 1})},
            {"general": ("toggle", None)},
        )
    )
    # A profile left alone while the model changes: no entry, no rewrite.
    @example(
        scenario(
            {"general": (True, {"certifications": ["GDPR", "HIPAA"]})},
            {"general": ("keep", None)},
            edits={"display_name": "Renamed"},
        )
    )
    @given(edit_scenarios())
    def test_a_posted_edit_is_stored_exactly_or_not_at_all(self, plan):
        providers = [ProviderFactory(), ProviderFactory()]
        model = create_from_spec(plan["model"], provider=providers[0])
        peer = aimodel_create(actor=None, provider=providers[1], name="peer-model", aliases=["peer-alias"])
        editor = staff("editor")
        client = signed_in(editor)
        page = page_of(client.get(change_url(model.pk)))
        submitted = form_fields(page, FORM_ID)
        blank = form_fields(page, FORM_ID, template_prefix=PROFILES)

        edits = dict(plan["edits"])
        if plan["provider"] == "other":
            edits["provider"] = providers[1].pk
        if plan["successor"] != "keep":
            edits["successor"] = peer.pk if plan["successor"] == "peer" else None
        for name, value in edits.items():
            submitted[name] = encode_field(name, value)
        submitted["change_reason"] = [plan["reason"]]
        before = whole_state(model.pk)
        expected_profiles = dict(before["profiles"])
        for slug, (change, new_settings) in plan["profiles"].items():
            industry = industry_ids()[slug]
            index = profile_index(submitted, industry)
            enabled, settings = expected_profiles[industry]
            if change == "delete":
                submitted[f"{PROFILES}-{index}-DELETE"] = ["on"]
                del expected_profiles[industry]
                continue
            if change == "toggle":
                expected_profiles[industry] = (not enabled, settings)
            elif change == "settings":
                expected_profiles[industry] = (enabled, new_settings)
            if change != "keep":
                set_profile(submitted, index, industry, *expected_profiles[industry], blank=blank)
        for slug, (enabled, settings) in plan["added"].items():
            industry = industry_ids()[slug]
            index = add_profile_form(submitted, blank)
            set_profile(submitted, index, industry, enabled, settings, blank=blank)
            expected_profiles[industry] = (enabled, settings)
        if plan["invalid"] is not None:
            invalid, bad = plan["invalid"]
            if invalid == "successor":
                aimodel_update(model=peer, actor=None, successor=model)
                before = whole_state(model.pk)
            submitted[invalid] = [bad_text(bad, model=model, peer=peer)]

        response = client.post(change_url(model.pk), post_data(submitted))

        if plan["invalid"] is not None:
            assert response.status_code == 200
            assert invalid in response.context["adminform"].form.errors
            assert whole_state(model.pk) == before
            return
        assert response.status_code == 302, form_errors(response)
        assert response["Location"] == CHANGELIST
        expected = {**before["values"], **edits}
        expected["capabilities"] = sorted(set(expected["capabilities"]))
        after = whole_state(model.pk)
        assert after["values"] == expected
        assert canonical_profiles(after["profiles"]) == canonical_profiles(expected_profiles)
        assert after["names"] == sorted({expected["name"].lower(), *(a.lower() for a in expected["aliases"])})

        changed_fields = {name for name in expected if expected[name] != before["values"][name]}
        entries = audit_entries_after(before["audit"])
        model_entries = [e for e in entries if e.object_type == "aimodel"]
        profiles_changed = canonical_profiles(before["profiles"]) != canonical_profiles(expected_profiles)
        # The version covers the model and its parts (issue 10, item 2).
        assert after["version"] == before["version"] + (1 if changed_fields or profiles_changed else 0)
        if changed_fields:
            (entry,) = model_entries
            assert (entry.action, entry.object_id) == (AuditAction.UPDATE, str(model.pk))
            assert set(entry.changes) == changed_fields
            assert AIModel.objects.get(pk=model.pk).updated_by == editor.username
        else:
            assert model_entries == []
        old, new = canonical_profiles(before["profiles"]), canonical_profiles(expected_profiles)
        expected_profile_actions = sorted(
            [(AuditAction.DELETE, i) for i in old if i not in new]
            + [(AuditAction.CREATE, i) for i in new if i not in old]
            + [(AuditAction.UPDATE, i) for i in new if i in old and new[i] != old[i]]
        )
        profile_ids = dict(  # profile id -> industry id, deleted profiles included
            ModelIndustryProfile.history.model.objects.filter(model_id=model.pk).values_list("id", "industry_id")
        )
        shown_profile_actions = sorted(
            (e.action, profile_ids[int(e.object_id)]) for e in entries if e.object_type == "modelindustryprofile"
        )
        assert shown_profile_actions == expected_profile_actions
        for entry in entries:
            if entry.object_type == "modelindustryprofile" and entry.action == AuditAction.UPDATE:
                industry = profile_ids[int(entry.object_id)]
                (was_enabled, was), (now_enabled, now) = old[industry], new[industry]
                expected_changes = {"enabled"} if was_enabled != now_enabled else set()
                assert set(entry.changes) == expected_changes | ({"settings"} if was != now else set())
        assert {e.object_type for e in entries} <= {"aimodel", "modelindustryprofile"}
        for entry in entries:
            assert (entry.source, entry.username, entry.user_id) == (ChangeSource.ADMIN, editor.username, editor.pk)
        if entries:
            assert len({entry.request_id for entry in entries}) == 1
        # The catalog version moves exactly when something changed.
        assert (after["catalog"] > before["catalog"]) == bool(entries)
        reason = plan["reason"]
        assert [(e.object_type, e.reason) for e in entries] == [(e.object_type, reason) for e in entries]


# =====================================================================================
# Property 10: Error Handling and Recovery
# =====================================================================================


class TestProperty10ErrorHandlingAndRecovery(TestCase):
    """Property 10: a rejected form comes back with an error on exactly each bad field (in
    the model form and in the industry profiles), every value the person submitted still
    in the form, and nothing stored or audited."""

    @given(st.data())
    def test_a_rejected_form_keeps_what_was_typed_and_names_exactly_the_bad_fields(self, data):
        provider = ProviderFactory()
        model = draw_model(data, provider=provider)
        peer = aimodel_create(actor=None, provider=provider, name="peer-model", aliases=["peer-alias"])
        client = signed_in(staff("editor"))
        page = page_of(client.get(change_url(model.pk)))
        submitted = form_fields(page, FORM_ID)

        bad_fields = data.draw(st.sets(st.sampled_from(sorted(BAD_INPUTS)), max_size=4), label="bad fields")
        if "successor" in bad_fields:
            aimodel_update(model=peer, actor=None, successor=model)
        for name in sorted(bad_fields):
            submitted[name] = [bad_text(data.draw(BAD_INPUTS[name], label=name), model=model, peer=peer)]
        free = sorted({"display_name", "description", "status", "capabilities"} - bad_fields)
        for name, value in data.draw(st.fixed_dictionaries({}, optional={n: EDITS[n] for n in free})).items():
            submitted[name] = encode_field(name, value)
        submitted["change_reason"] = [data.draw(one_line, label="reason")]

        bad_settings: dict[int, set[str]] = {}
        for industry in sorted(stored_profiles(model.pk)):
            index = profile_index(submitted, industry)
            breakable = sorted(set(BAD_SETTINGS) & set(industry_schemas()[industry]["properties"]))
            broken = data.draw(st.sets(st.sampled_from(breakable), max_size=2), label="bad settings")
            for name in broken:
                submitted[f"{PROFILES}-{index}-setting__{name}"] = [data.draw(st.sampled_from(BAD_SETTINGS[name]))]
            bad_settings[index] = broken
        if data.draw(st.booleans(), label="add a bad profile"):
            unused = sorted(set(industry_schemas()) - set(stored_profiles(model.pk)))
            industry = data.draw(st.sampled_from(unused))
            blank = form_fields(page, FORM_ID, template_prefix=PROFILES)
            index = add_profile_form(submitted, blank)
            set_profile(submitted, index, industry, True, {}, blank=blank)
            submitted[f"{PROFILES}-{index}-setting__max_temperature"] = ["2.5"]
            bad_settings[index] = {"max_temperature"}
        assume(bad_fields or any(bad_settings.values()))
        before = whole_state(model.pk)

        response = client.post(change_url(model.pk), post_data(submitted))

        assert response.status_code == 200
        form = response.context["adminform"].form
        assert set(form.errors) == bad_fields, form_errors(response)
        (profiles_formset,) = [
            inline.formset for inline in response.context["inline_admin_formsets"] if inline.formset.prefix == PROFILES
        ]
        shown_errors = {index: set(f.errors) for index, f in enumerate(profiles_formset.forms) if f.errors}
        assert shown_errors == {
            index: {f"setting__{n}" for n in names} for index, names in bad_settings.items() if names
        }
        assert not profiles_formset.non_form_errors()
        for messages in form.errors.values():
            for message in messages:
                assert escape(message) in response.content.decode()

        kept = form_fields(page_of(response), FORM_ID)
        kept.pop("csrfmiddlewaretoken"), submitted.pop("csrfmiddlewaretoken")
        assert kept == {name: values for name, values in submitted.items() if values}
        assert whole_state(model.pk) == before


class TestEditFormEdges(TestCase):
    """Values the API stores that the admin form must show and give back unchanged."""

    def test_a_use_case_containing_a_comma_survives_an_unchanged_save(self):
        finance = Industry.objects.get(slug="finance")
        use_cases = ["summaries, translations", "customer support"]
        model = aimodel_create(
            actor=None,
            provider=ProviderFactory(),
            name="n-comma",
            industries=[ProfileInput(industry=finance, settings={"approved_use_cases": use_cases, "notes": "x"})],
        )
        client = signed_in(staff("editor"))
        submitted = form_fields(page_of(client.get(change_url(model.pk))), FORM_ID)
        submitted[f"{PROFILES}-0-setting__notes"] = ["changed note"]

        response = client.post(change_url(model.pk), post_data(submitted))

        assert response.status_code == 302, form_errors(response)
        (profile,) = ModelIndustryProfile.objects.filter(model=model)
        assert profile.settings == {"approved_use_cases": use_cases, "notes": "changed note"}

    def test_an_empty_list_setting_survives_an_unchanged_save(self):
        general = Industry.objects.get(slug="general")
        settings = {"data_residency": [], "personal_data_allowed": False}
        model = aimodel_create(
            actor=None,
            provider=ProviderFactory(),
            name="n-empty-list",
            industries=[ProfileInput(industry=general, settings=settings)],
        )
        client = signed_in(staff("editor"))
        submitted = form_fields(page_of(client.get(change_url(model.pk))), FORM_ID)
        submitted[f"{PROFILES}-0-setting__personal_data_allowed"] = ["true"]

        response = client.post(change_url(model.pk), post_data(submitted))

        assert response.status_code == 302, form_errors(response)
        (profile,) = ModelIndustryProfile.objects.filter(model=model)
        assert profile.settings == {"data_residency": [], "personal_data_allowed": True}

    def test_an_edit_after_someone_elses_save_is_refused_and_shows_their_change(self):
        model = aimodel_create(actor=None, provider=ProviderFactory(), name="n-race", display_name="Before")
        client = signed_in(staff("editor"))
        submitted = form_fields(page_of(client.get(change_url(model.pk))), FORM_ID)
        other = staff("editor")
        aimodel_update(model=model, actor=other, display_name="Theirs")
        submitted["display_name"] = ["Mine"]
        before = whole_state(model.pk)

        response = client.post(change_url(model.pk), post_data(submitted))

        assert response.status_code == 200
        errors = response.context["adminform"].form.non_field_errors()
        assert any("Someone else saved this model" in error for error in errors)
        assert any(other.username in error and "display_name: 'Before' → 'Theirs'" in error for error in errors)
        assert form_fields(page_of(response), FORM_ID)["display_name"] == ["Mine"]
        assert whole_state(model.pk) == before  # the audit log and the catalog version included
        assert not LogEntry.objects.filter(object_id=str(model.pk)).exists()

    def test_the_settings_of_all_profiles_over_their_budget_are_refused_on_the_profiles(self):
        general, retail = Industry.objects.get(slug="general"), Industry.objects.get(slug="retail")
        model = aimodel_create(actor=None, provider=ProviderFactory(), name="n-budget", display_name="Before")
        client = signed_in(staff("editor"))
        page = page_of(client.get(change_url(model.pk)))
        submitted = form_fields(page, FORM_ID)
        blank = form_fields(page, FORM_ID, template_prefix=PROFILES)
        notes = "n" * (PROFILES_SETTINGS_MAX_BYTES // 2)  # each profile's settings within its own limit
        for industry in (general, retail):
            set_profile(submitted, add_profile_form(submitted, blank), industry.pk, True, {"notes": notes}, blank=blank)
        submitted["display_name"] = ["Mine"]
        before = whole_state(model.pk)

        response = client.post(change_url(model.pk), post_data(submitted))

        assert response.status_code == 200
        (profiles,) = [
            inline.formset for inline in response.context["inline_admin_formsets"] if inline.formset.prefix == PROFILES
        ]
        size = 2 * json_size({"notes": notes})
        assert list(profiles.non_form_errors()) == [
            f"Ensure the settings of all profiles take at most {PROFILES_SETTINGS_MAX_BYTES:,} bytes together "
            f"(they take {size:,})."
        ]
        assert not response.context["adminform"].form.errors
        assert form_fields(page_of(response), FORM_ID)["display_name"] == ["Mine"]
        assert whole_state(model.pk) == before
        assert not LogEntry.objects.filter(object_id=str(model.pk)).exists()


# =====================================================================================
# Property 12: Audit Log Filtering and Display
# =====================================================================================

AUDIT_USERS = ["alice", "bob", "carol-ops", ""]
OBJECT_TYPES = ["aimodel", "provider", "industry", "modelindustryprofile"]
OBJECT_REPRS = ["gpt-4o", "alice-helper", "Bob's model", "claude", "=cmd", "-minus"]
DAY_ZERO = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)  # entries straddle a new year

audit_specs = st.lists(
    st.fixed_dictionaries(
        {
            "username": st.sampled_from(AUDIT_USERS),
            "action": st.sampled_from(AuditAction.values),
            "source": st.sampled_from(ChangeSource.values),
            "object_type": st.sampled_from(OBJECT_TYPES),
            "object_repr": st.sampled_from(OBJECT_REPRS),
            "timestamp": st.builds(
                lambda days, seconds: DAY_ZERO + datetime.timedelta(days=days, seconds=seconds),
                st.integers(-40, 40),
                st.integers(0, 24 * 60 * 60 - 1),
            ),
        }
    ),
    max_size=25,
)
audit_filters = st.fixed_dictionaries(
    {},
    optional={
        "action": st.sampled_from(AuditAction.values),
        "source": st.sampled_from(ChangeSource.values),
        "object_type": st.sampled_from(OBJECT_TYPES),
        "user": st.sampled_from(AUDIT_USERS[:3]),
        "range": st.tuples(st.integers(-45, 45), st.integers(1, 30)),  # first day, number of days
        "hierarchy": st.tuples(st.sampled_from(["year", "month", "day"]), st.integers(-40, 40)),
    },
)


def day(offset: int) -> datetime.datetime:
    return DAY_ZERO + datetime.timedelta(days=offset)


def in_hierarchy(timestamp: datetime.datetime, level: str, offset: int) -> bool:
    chosen = day(offset)
    parts = {"year": ("year",), "month": ("year", "month"), "day": ("year", "month", "day")}[level]
    return all(getattr(timestamp, part) == getattr(chosen, part) for part in parts)


def admin_selects(entry: AuditEntry, filters: dict) -> bool:
    """The reference filter for the admin list: exact choices, a [since, until) range, the
    date hierarchy, and the search (each word in some searched field, ignoring case)."""
    if any(getattr(entry, name) != filters[name] for name in ("action", "source", "object_type") if name in filters):
        return False
    if "range" in filters:
        first, days = filters["range"]
        if not day(first) <= entry.timestamp < day(first + days):
            return False
    if "hierarchy" in filters and not in_hierarchy(entry.timestamp, *filters["hierarchy"]):
        return False
    if "user" in filters:
        searched = [entry.username, entry.object_repr, entry.object_id, entry.request_id, entry.reason]
        return all(any(word.lower() in value.lower() for value in searched) for word in filters["user"].split())
    return True


def export_selects(entry: AuditEntry, filters: dict) -> bool:
    """The reference filter for the CSV export: the same choices, the user by exact name,
    and the range and hierarchy as since/until (inclusive)."""
    if any(getattr(entry, name) != filters[name] for name in ("action", "source", "object_type") if name in filters):
        return False
    if "user" in filters and entry.username != filters["user"]:
        return False
    if "range" in filters:
        first, days = filters["range"]
        if not day(first) <= entry.timestamp < day(first + days):
            return False
    return not ("hierarchy" in filters and not in_hierarchy(entry.timestamp, *filters["hierarchy"]))


def hierarchy_bounds(level: str, offset: int) -> tuple[datetime.datetime, datetime.datetime]:
    chosen = day(offset)
    if level == "year":
        start = chosen.replace(month=1, day=1)
        return start, start.replace(year=start.year + 1)
    if level == "month":
        start = chosen.replace(day=1)
        return start, (start + datetime.timedelta(days=32)).replace(day=1)
    return chosen, chosen + datetime.timedelta(days=1)


def admin_params(filters: dict) -> dict:
    params = {f"{name}__exact": filters[name] for name in ("action", "source") if name in filters}
    if "object_type" in filters:
        params["object_type"] = filters["object_type"]
    if "user" in filters:
        params["q"] = filters["user"]
    if "range" in filters:
        first, days = filters["range"]
        params["timestamp__gte"] = str(day(first))
        params["timestamp__lt"] = str(day(first + days))
    if "hierarchy" in filters:
        level, offset = filters["hierarchy"]
        chosen = day(offset)
        for part in {"year": ["year"], "month": ["year", "month"], "day": ["year", "month", "day"]}[level]:
            params[f"timestamp__{part}"] = str(getattr(chosen, part))
    return params


def export_params(filters: dict) -> dict:
    params = {name: filters[name] for name in ("action", "source", "object_type", "user") if name in filters}
    bounds = []
    if "range" in filters:
        first, days = filters["range"]
        bounds.append((day(first), day(first + days)))
    if "hierarchy" in filters:
        bounds.append(hierarchy_bounds(*filters["hierarchy"]))
    if bounds:
        since, until = max(b[0] for b in bounds), min(b[1] for b in bounds)
        params["since"] = since.isoformat()
        params["until"] = (until - datetime.timedelta(microseconds=1)).isoformat()
    return params


def csv_safe(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


class TestProperty12AuditLogFilteringAndDisplay(TestCase):
    """Property 12: the admin's audit log shows, newest first, exactly the entries a
    reference filter selects for any combination of its filters (action, source, object
    type, date range, date hierarchy, search by user), each with its values; and the CSV
    export with the same filters has exactly those rows."""

    @given(audit_specs, audit_filters)
    def test_the_list_and_the_export_show_exactly_the_selected_entries(self, specs, filters):
        entries = [AuditEntryFactory(**spec) for spec in specs]
        client = signed_in(staff("admin"))
        newest_first = sorted(entries, key=lambda e: (e.timestamp, e.id), reverse=True)

        response = client.get(AUDIT_CHANGELIST, admin_params(filters))

        assert response.status_code == 200
        assert "e=1" not in response.get("Location", "")
        rows = result_rows(page_of(response))
        shown = [int(re.search(r"/auditentry/(\d+)/change/", link).group(1)) for _, link, _ in rows]
        assert shown == [e.id for e in newest_first if admin_selects(e, filters)]
        by_id = {entry.id: entry for entry in entries}
        for (_, _, cells), pk in zip(rows, shown, strict=True):
            entry = by_id[pk]
            assert cells["username"] == (entry.username or EMPTY)
            assert cells["action"] == entry.get_action_display()
            assert cells["object_type"] == entry.object_type
            assert cells["object_repr"] == entry.object_repr
            assert cells["source"] == entry.get_source_display()

        export = client.get(AUDIT_EXPORT, export_params(filters))

        assert export.status_code == 200
        lines = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
        assert lines[0] == [
            "id", "timestamp", "user", "action", "object_type", "object_id", "object_repr", "changes", "reason",
            "source", "request_id",
        ]  # fmt: skip
        expected = [e for e in newest_first if export_selects(e, filters)]
        assert [int(line[0]) for line in lines[1:]] == [e.id for e in expected]
        for line, entry in zip(lines[1:], expected, strict=True):
            assert datetime.datetime.fromisoformat(line[1]) == entry.timestamp
            assert line[2:7] == [
                csv_safe(entry.username), entry.action, entry.object_type, entry.object_id,
                csv_safe(entry.object_repr),
            ]  # fmt: skip
            assert json.loads(line[7]) == entry.changes
            assert line[9:] == [entry.source, entry.request_id]

    def test_the_export_and_the_list_need_the_audit_permission(self):
        client = signed_in(staff("editor"))

        assert client.get(AUDIT_EXPORT).status_code == 403
        assert client.get(AUDIT_CHANGELIST).status_code == 403


# =====================================================================================
# Property 14: Session Management
# =====================================================================================

IDLE = settings.SESSION_IDLE_TIMEOUT
LIFETIME = settings.SESSION_ABSOLUTE_LIFETIME
REAUTH = settings.REAUTHENTICATE_AFTER
MARGIN = 30  # seconds kept away from each boundary: the test itself takes time


def session_row(client) -> Session:
    return Session.objects.get(session_key=client.session.session_key)


def is_signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def edit_session(client, **values) -> None:
    session = client.session
    for key, value in values.items():
        session[key] = value
    session.save()


def login_redirect(path: str) -> str:
    return f"{LOGIN}?next={path}"


class TestProperty14SessionManagement(TestCase):
    """Property 14: a session ends after SESSION_IDLE_TIMEOUT without requests and after
    SESSION_ABSOLUTE_LIFETIME however active; every request, the keepalive included,
    renews the idle timeout; a destructive operation asks for the password again after
    REAUTHENTICATE_AFTER and then continues exactly where it was; repeated wrong passwords
    lock that user out from that address only, and only for AXES_COOLOFF_TIME."""

    @given(
        st.integers(0, IDLE - MARGIN) | st.integers(IDLE + MARGIN, 3 * IDLE), st.sampled_from([CHANGELIST, KEEPALIVE])
    )
    def test_a_session_idle_past_the_timeout_ends_and_any_request_renews_it(self, idle, path):
        client = signed_in(staff("viewer"))
        last_request = timezone.now() - datetime.timedelta(seconds=idle)
        Session.objects.filter(session_key=client.session.session_key).update(
            expire_date=last_request + datetime.timedelta(seconds=IDLE)
        )

        response = client.get(path)

        if idle >= IDLE:
            assert (response.status_code, response["Location"]) == (302, login_redirect(path))
            assert not is_signed_in(client)
            return
        assert response.status_code == 200
        if path == KEEPALIVE:
            assert response.json() == {"ok": True}
        renewed = session_row(client).expire_date - timezone.now()
        assert datetime.timedelta(seconds=IDLE - MARGIN) <= renewed <= datetime.timedelta(seconds=IDLE)

    @given(
        st.integers(0, LIFETIME - MARGIN) | st.integers(LIFETIME, 3 * LIFETIME),
        st.sampled_from([CHANGELIST, KEEPALIVE]),
    )
    def test_a_session_ends_at_its_absolute_lifetime_however_active(self, age, path):
        client = signed_in(staff("viewer"))
        signed_in_at = int(time.time()) - age
        edit_session(client, **{SIGNED_IN_AT: signed_in_at})

        response = client.get(path)

        if age >= LIFETIME:
            assert (response.status_code, response["Location"]) == (302, login_redirect(path))
            assert not is_signed_in(client)
            assert client.get(KEEPALIVE).status_code == 302
            return
        assert response.status_code == 200
        assert is_signed_in(client)
        if path == CHANGELIST:
            warning = page_of(response).find("div", id="llm-session")
            assert int(warning.attrs["data-ends-at"]) == signed_in_at + LIFETIME
            assert int(warning.attrs["data-idle-seconds"]) == IDLE

    @given(
        st.integers(0, REAUTH - MARGIN) | st.integers(REAUTH + MARGIN, LIFETIME - MARGIN),
        st.sampled_from(["delete view", "bulk delete"]),
        st.text(st.characters(exclude_categories=["Cs"]), max_size=30).filter(lambda p: p != PASSWORD),
    )
    def test_a_delete_after_reauthentication_continues_exactly_where_it_was(self, age, route, wrong_password):
        user = staff("admin")
        model = aimodel_create(actor=None, provider=ProviderFactory(), name="n-doomed")
        client = signed_in(user, enforce_csrf_checks=True)
        authenticated_at = int(time.time()) - age
        edit_session(client, **{AUTHENTICATED_AT: authenticated_at})
        if route == "delete view":
            path = delete_url(model.pk)
            page = page_of(client.get(path))
            fields = {"post": ["yes"]}
        else:
            path = CHANGELIST
            page = page_of(client.get(path))
            fields = {"action": ["bulk_delete"], "_selected_action": [str(model.pk)], "select_across": ["0"]}
            fields["index"] = ["0"]
        token = page.find("input", name="csrfmiddlewaretoken").attrs["value"]
        mark = last_audit_id()

        response = client.post(path, {**fields, "csrfmiddlewaretoken": token})

        if age <= REAUTH:
            assert response.status_code in (200, 302)
            assert not AIModel.objects.filter(pk=model.pk).exists()
            return
        assert (response.status_code, response["Location"]) == (302, REAUTHENTICATE)
        assert AIModel.objects.filter(pk=model.pk).exists()
        assert last_audit_id() == mark

        prompt = client.get(REAUTHENTICATE)
        assert prompt.status_code == 200
        assert prompt.context["pending_path"] == path
        token = page_of(prompt).find("input", name="csrfmiddlewaretoken").attrs["value"]

        refused = client.post(REAUTHENTICATE, {"password": wrong_password, "csrfmiddlewaretoken": token})

        assert refused.status_code == 200
        assert refused.context["form"].errors
        assert client.session[AUTHENTICATED_AT] == authenticated_at
        assert AIModel.objects.filter(pk=model.pk).exists()

        confirmed = client.post(REAUTHENTICATE, {"password": PASSWORD, "csrfmiddlewaretoken": token})

        assert confirmed.status_code == 200
        assert confirmed.templates[0].name == "admin/llm/resubmit.html"
        assert abs(client.session[AUTHENTICATED_AT] - time.time()) <= MARGIN
        assert PENDING_POST not in client.session
        replay = page_of(confirmed)
        replayed = form_fields(replay, "llm-resubmit")
        assert replay.find("form", id="llm-resubmit").attrs["action"] == path
        assert {k: v for k, v in replayed.items() if k != "csrfmiddlewaretoken"} == fields
        assert AIModel.objects.filter(pk=model.pk).exists()

        done = client.post(path, replayed)

        assert done.status_code in (200, 302)
        assert not AIModel.objects.filter(pk=model.pk).exists()
        (entry,) = [e for e in audit_entries_after(mark) if e.object_type == "aimodel"]
        source = ChangeSource.ADMIN if route == "delete view" else ChangeSource.BULK
        assert (entry.action, entry.object_id, entry.source) == (AuditAction.DELETE, str(model.pk), source)
        assert (entry.username, entry.user_id) == (user.username, user.pk)

    @given(st.integers(0, settings.AXES_FAILURE_LIMIT + 2))
    def test_repeated_wrong_passwords_lock_that_user_from_that_address_for_the_cooloff(self, failures):
        user = staff("admin")
        bystander = staff("admin")
        limit, cooloff = settings.AXES_FAILURE_LIMIT, settings.AXES_COOLOFF_TIME
        here, elsewhere = "203.0.113.7", "198.51.100.9"

        def sign_in(username, password, address, **headers):
            client = Client()
            response = client.post(
                f"{LOGIN}?next=/admin/", {"username": username, "password": password}, REMOTE_ADDR=address, **headers
            )
            return response, client

        with override_settings(AXES_ENABLED=True):
            for attempt in range(1, failures + 1):
                response, _ = sign_in(user.username, "wrong password", here)
                assert response.status_code == (429 if attempt >= limit else 200)

            response, client = sign_in(user.username, PASSWORD, here)

            if failures < limit:
                assert (response.status_code, response["Location"]) == (302, "/admin/")
                assert is_signed_in(client)
                assert abs(client.session[SIGNED_IN_AT] - time.time()) <= MARGIN
                return
            assert response.status_code == 429
            assert not is_signed_in(client)
            spoofed, client = sign_in(user.username, PASSWORD, here, HTTP_X_FORWARDED_FOR=elsewhere)
            assert spoofed.status_code == 429 and not is_signed_in(client)
            other_user, client = sign_in(bystander.username, PASSWORD, here)
            assert other_user.status_code == 302 and is_signed_in(client)
            from_elsewhere, client = sign_in(user.username, PASSWORD, elsewhere)
            assert from_elsewhere.status_code == 302 and is_signed_in(client)
            still, client = sign_in(user.username, PASSWORD, here)
            assert still.status_code == 429 and not is_signed_in(client)

            # The cool-off runs from the last attempt (each refused one counts): move it back.
            margin = datetime.timedelta(seconds=MARGIN)
            AccessAttempt.objects.update(attempt_time=timezone.now() - cooloff + margin)
            not_yet, client = sign_in(user.username, PASSWORD, here)
            assert not_yet.status_code == 429 and not is_signed_in(client)

            AccessAttempt.objects.update(attempt_time=timezone.now() - cooloff - margin)
            lifted, client = sign_in(user.username, PASSWORD, here)
            assert (lifted.status_code, lifted["Location"]) == (302, "/admin/")
            assert is_signed_in(client)


# =====================================================================================
# Property 16: Multi-Select Functionality
# =====================================================================================

registry_specs = st.lists(
    st.fixed_dictionaries(
        {
            "status": st.sampled_from(ModelStatus.values),
            "provider": st.integers(0, 1),
            "model_type": st.sampled_from(["chat", "embedding"]),
            "dependencies": st.integers(0, 1),
            "successor": st.none() | st.integers(0, 7),  # an earlier model, when there is one
        }
    ),
    min_size=1,
    max_size=8,
)
list_filters = st.fixed_dictionaries(
    {},
    optional={
        "status": st.sampled_from(ModelStatus.values),
        "provider": st.integers(0, 1),
        "model_type": st.sampled_from(["chat", "embedding"]),
        "has_dependencies": st.sampled_from(["true", "false"]),
    },
)
ACTIONS = ["bulk_activate", "bulk_deactivate", "bulk_deprecate", "bulk_delete", "export_csv", "export_json"]


def blocked_deletions(models: list[AIModel], targeted: set[int]) -> set[int]:
    """The targeted models a delete must skip: those with dependencies, or named as
    successor by a model that is not deleted with them."""
    predecessors = {m.pk: [p.pk for p in models if p.successor_id == m.pk] for m in models}
    used = set(ModelDependency.objects.values_list("model_id", flat=True))
    deletable: set[int] = set()
    settled = False
    while not settled:
        settled = True
        for pk in targeted - deletable:
            if pk not in used and all(p in deletable for p in predecessors[pk]):
                deletable.add(pk)
                settled = False
    return targeted - deletable


class TestProperty16MultiSelectFunctionality(TestCase):
    """Property 16: the list offers exactly the models its filters select; a bulk action
    acts on exactly the selected models (or, with "select all", exactly the filtered
    ones) and on nothing else; its result page lists exactly those models, each with its
    outcome, with totals that add up; an export holds exactly them."""

    @given(registry_specs, list_filters, st.sampled_from(ACTIONS), st.booleans(), st.data())
    def test_a_bulk_action_acts_on_exactly_the_selection(self, specs, filters, action, select_across, data):
        note(f"registry={specs!r} filters={filters!r} action={action!r} select_across={select_across!r}")
        administrator = staff("admin")
        providers = [ProviderFactory(), ProviderFactory()]
        models = []
        for index, spec in enumerate(specs):
            successor = (
                models[spec["successor"]] if spec["successor"] is not None and spec["successor"] < index else None
            )
            model = aimodel_create(
                actor=None,
                name=f"m-{index}",
                provider=providers[spec["provider"]],
                status=spec["status"],
                model_type=spec["model_type"],
                successor=successor,
            )
            if spec["dependencies"]:
                dependency_register(model=model, component_type="agent", component_id=f"a{index}", actor=None)
            models.append(model)
        params = {**filters}
        if "provider" in params:
            params["provider"] = providers[params["provider"]].slug
        # "Dependencies" in the list are registered components (a successor link is not one,
        # though it too keeps a model from being deleted: see blocked_deletions).
        used = set(ModelDependency.objects.values_list("model_id", flat=True))

        def listed(model: AIModel) -> bool:
            return (
                model.status == filters.get("status", model.status)
                and model.model_type == filters.get("model_type", model.model_type)
                and model.provider.slug == params.get("provider", model.provider.slug)
                and (model.pk in used)
                == (filters.get("has_dependencies", "true" if model.pk in used else "false") == "true")
            )

        visible = {m.pk for m in models if listed(m)}
        client = signed_in(administrator)
        query = "&".join(f"{name}={value}" for name, value in params.items())
        url = f"{CHANGELIST}?{query}" if query else CHANGELIST

        offered = {int(selected) for selected, _, _ in result_rows(page_of(client.get(url)))}

        assert offered == visible
        assume(visible)
        if select_across:
            selected = sorted(visible)
        else:
            selected = data.draw(st.lists(st.sampled_from(sorted(visible)), min_size=1, unique=True), label="selected")
        hidden = sorted({m.pk for m in models} - visible)
        tampered = data.draw(st.lists(st.sampled_from(hidden), unique=True), label="hidden") if hidden else []
        targeted = visible if select_across else set(selected)
        before = {m.pk: (m.status, AIModel.objects.get(pk=m.pk).version) for m in models}
        mark = last_audit_id()

        response = client.post(
            url,
            {
                "action": action,
                "_selected_action": [str(pk) for pk in selected + tampered],
                "select_across": "1" if select_across else "0",
                "index": "0",
            },
        )

        names = {m.pk: m.name for m in models}
        if action.startswith("export_"):
            content = b"".join(response.streaming_content).decode()
            if action == "export_csv":
                exported = [row["name"] for row in csv.DictReader(io.StringIO(content))]
            else:
                exported = [row["name"] for row in json.loads(content)]
            assert sorted(exported) == sorted(names[pk] for pk in targeted)
            assert {m.pk: (m.status, m.version) for m in AIModel.objects.all()} == before
            assert last_audit_id() == mark
            return

        assert response.status_code == 200
        result, rows = response.context["result"], response.context["rows"]
        bulk_action = BulkAction(action.removeprefix("bulk_"))
        assert sorted(name for _, name in rows) == sorted(names[pk] for pk in targeted)
        assert result.succeeded + result.failed == len(result.results) == len(targeted)
        page = page_of(response)
        table = by_class(page, "table", "llm-results")
        shown_rows = {
            tr.elements("td")[0].text(): tr.elements("td")[1].text() for tr in table.find("tbody").elements("tr")
        }
        totals = by_class(page, "p", "llm-totals").text()
        entries = [e for e in audit_entries_after(mark) if e.object_type == "aimodel"]
        for entry in entries:
            assert (entry.source, entry.username) == (ChangeSource.BULK, administrator.username)

        if bulk_action == BulkAction.DELETE:
            blocked = blocked_deletions(models, targeted)
            deleted = targeted - blocked
            assert set(AIModel.objects.values_list("pk", flat=True)) == {m.pk for m in models} - deleted
            assert shown_rows == {names[pk]: ("skipped" if pk in blocked else "deleted") for pk in targeted}
            assert (result.succeeded, result.failed) == (len(deleted), len(blocked))
            assert sorted((e.action, int(e.object_id)) for e in entries) == sorted(
                (AuditAction.DELETE, pk) for pk in deleted
            )
        else:
            status = STATUS_BY_BULK_ACTION[bulk_action]
            after = {m.pk: (m.status, m.version) for m in AIModel.objects.all()}
            changed = {pk for pk in targeted if before[pk][0] != status}
            for pk, (old_status, old_version) in before.items():
                if pk in targeted:
                    assert after[pk] == (status, old_version + (1 if pk in changed else 0))
                else:
                    assert after[pk] == (old_status, old_version)
            assert shown_rows == {names[pk]: ("done" if pk in changed else "unchanged") for pk in targeted}
            assert (result.succeeded, result.failed) == (len(targeted), 0)
            assert sorted(int(e.object_id) for e in entries) == sorted(changed)
            for entry in entries:
                assert entry.changes == {"status": {"old": before[int(entry.object_id)][0], "new": status}}
        assert " ".join(totals.split()) == (
            f"{result.succeeded} succeeded, {result.failed} failed, of {len(targeted)} selected."
        )
