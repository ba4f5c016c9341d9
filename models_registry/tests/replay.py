"""The registry as its change events tell it (issue 11, "one change writer").

`registry_state()` reads every audited object from the database as the audit diffs render
it (`audit.history.audited_fields`, `field_value`): {(object type, id): {field: value}},
a field without a value (None) left out, as a created object's event leaves it out.
`Replay` applies change events to such a state as a consumer of the feed would, knowing
only the events: each change's new value set (None: the field has none), an object left
with no values is gone, and a change of an object's natural key (a provider's slug, a
model's name: `NATURAL_KEY`) re-points every object that names it. It also notes where an
event disagrees with what it replays (an `old` value that is not the replayed one, a
created event for an object that exists, a deleted event that leaves values behind).
"""

import copy

from audit.events import event_of
from audit.history import audited_fields, field_value
from audit.models import AuditEntry, AuditLink
from models_registry.models import AIModel, Industry, ModelDependency, ModelIndustryProfile, Provider

AUDITED_MODELS = (Provider, Industry, AIModel, ModelIndustryProfile, ModelDependency)
CREATED = ("created", "registered", "restored")  # the last word of an event type that makes an object
DELETED = ("deleted", "removed")

State = dict[tuple[str, str], dict]


def registry_state() -> State:
    """Every audited object in the database, rendered as the audit diffs render it."""
    state = {}
    for model in AUDITED_MODELS:
        fields = audited_fields(model.history.model)
        relations = [field.name for field in fields if field.is_relation]
        for obj in model._base_manager.select_related(*relations):
            values = {field.name: field_value(obj, field) for field in fields}
            state[(model._meta.model_name, str(obj.pk))] = _with_values(values)
    return state


def last_position() -> int:
    """The cursor of the newest event (0 when there is none)."""
    return AuditLink.objects.order_by("-position").values_list("position", flat=True).first() or 0


def events_after(position: int) -> list[dict]:
    """The change events linked after `position`, in commit (cursor) order."""
    links = list(AuditLink.objects.filter(position__gt=position).order_by("position"))
    entries = AuditEntry.objects.in_bulk([link.entry_id for link in links])
    return [event_of(entries[link.entry_id], link) for link in links if entries[link.entry_id].event_type]


def _with_values(values: dict) -> dict:
    return {name: value for name, value in values.items() if value is not None}


def _references() -> dict[str, list[tuple[str, str]]]:
    """{object type: [(object type, field) naming an object of that type]}."""
    found: dict[str, list[tuple[str, str]]] = {}
    for model in AUDITED_MODELS:
        for field in audited_fields(model.history.model):
            if field.is_relation:
                found.setdefault(field.related_model._meta.model_name, []).append((model._meta.model_name, field.name))
    return found


NATURAL_KEYS = {model._meta.model_name: model.NATURAL_KEY for model in AUDITED_MODELS if model.NATURAL_KEY}
REFERENCES = _references()


class Replay:
    def __init__(self, state: State):
        self.state = copy.deepcopy(state)
        self.disagreements: list[str] = []

    def apply(self, events: list[dict]) -> State:
        for event in events:
            self._apply(event)
        return self.state

    def _apply(self, event: dict) -> None:
        object_type, object_id = event["object"]["type"], event["object"]["id"]
        key = (object_type, object_id)
        known = key in self.state
        values = dict(self.state.get(key, {}))
        action = event["type"].rsplit(".", 1)[1]
        if action in CREATED and known:
            self._disagree(event, "creates an object that exists")
        for name, change in event["changes"].items():
            if values.get(name) != change["old"]:
                self._disagree(event, f"{name}: old {change['old']!r}, replayed {values.get(name)!r}")
            if change["new"] is None:
                values.pop(name, None)
            else:
                values[name] = change["new"]
        if action in DELETED and values:
            self._disagree(event, f"deletes but leaves {sorted(values)}")
        if values:
            self.state[key] = values
        else:
            self.state.pop(key, None)
        key_field = NATURAL_KEYS.get(object_type)
        renamed = event["changes"].get(key_field)
        if renamed and renamed["old"] is not None and renamed["new"] is not None:
            self._repoint(object_type, renamed["old"], renamed["new"])

    def _repoint(self, object_type: str, old: str, new: str) -> None:
        """Every replayed object that names `old` (an object of `object_type`) names `new`."""
        for referring_type, field in REFERENCES.get(object_type, []):
            for (kind, _), values in self.state.items():
                if kind == referring_type and values.get(field) == old:
                    values[field] = new

    def _disagree(self, event: dict, problem: str) -> None:
        self.disagreements.append(f"{event['type']} {event['object']} (cursor {event['cursor']}): {problem}")
