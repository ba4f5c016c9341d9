"""The admin as staff use it, for the tests that drive it: its pages read as a browser
reads them (the HTML of the list, the form and the result pages, and the data a browser
would submit from a form), staff in each role, and generated models as the admin shows
and takes them back."""

import datetime
import functools
import itertools
import json
from dataclasses import dataclass, field
from decimal import Decimal
from html.parser import HTMLParser

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from hypothesis import assume
from hypothesis import strategies as st

from accounts.roles import ROLE_GROUPS
from accounts.tests.users import PASSWORD
from audit.models import AuditEntry
from models_registry.choices import Capability, ModelStatus, ModelType
from models_registry.models import AIModel, Industry, ModelIndustryProfile, RegisteredName
from models_registry.selectors import catalog_version
from models_registry.services import ProfileInput, aimodel_create
from models_registry.tests import strategies

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


def form_errors(response) -> dict:
    """Every field error of the model form and its inlines (for assertion messages)."""
    if response.context is None or "adminform" not in response.context:
        return {"status": response.status_code}
    errors = {"form": response.context["adminform"].form.errors.get_json_data()}
    for inline in response.context["inline_admin_formsets"]:
        errors[inline.formset.prefix] = [form.errors.get_json_data() for form in inline.formset.forms]
        errors[inline.formset.prefix + "-nonform"] = list(inline.formset.non_form_errors())
    return errors
