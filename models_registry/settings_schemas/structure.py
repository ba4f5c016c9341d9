"""The shape a settings schema must have, checked when it is saved: one self-contained
draft 2020-12 document (no `$id`, every `$ref`/`$dynamicRef` a fragment that resolves inside
it), patterns RE2 can run, and bounded size: nesting depth, number of subschemas, and how
many subschemas one value can be checked against (a reference cycle that never moves into
the value would never end)."""

from collections.abc import Iterator

from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from models_registry.settings_schemas.patterns import pattern_problem
from models_registry.settings_schemas.validator import OFFLINE, REFERENCES

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
MAX_DEPTH = 32  # JSON nesting of the schema document
MAX_SUBSCHEMAS = 2_000
MAX_IN_PLACE = 1_000  # subschemas one value is checked against, references followed
IN_PLACE = {"allOf", "anyOf", "oneOf", "not", "if", "then", "else", "dependentSchemas"}


def depth_problem(schema) -> str | None:
    stack = [(schema, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"It is nested more than {MAX_DEPTH} levels deep."
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        stack.extend((child, depth + 1) for child in children)
    return None


def _subschemas(node) -> Iterator:
    """The subschemas written directly in `node` (draft 2020-12's schema positions)."""
    if isinstance(node, dict):
        yield from (resource.contents for resource in DRAFT202012.create_resource(node).subresources())


def _in_place_children(node) -> Iterator:
    """The subschemas that apply to the same value as `node` (references not included)."""
    if not isinstance(node, dict):
        return
    for keyword in IN_PLACE & node.keys():
        value = node[keyword]
        if isinstance(value, list):
            yield from value
        elif keyword == "dependentSchemas" and isinstance(value, dict):
            yield from value.values()
        else:
            yield value


class SchemaCheck:
    def __init__(self, schema: dict):
        self.schema = schema
        self.resolver = OFFLINE.with_resource("", DRAFT202012.create_resource(schema)).resolver()
        self.problems: list[str] = []
        self.in_place_cost: dict[int, int] = {}

    def run(self) -> list[str]:
        declared = self.schema.get("$schema")
        if declared is not None and declared.rstrip("#") != DRAFT_2020_12:
            return [f"Only JSON Schema draft 2020-12 is supported; $schema is {declared!r}."]
        nodes = self._nodes()
        if len(nodes) > MAX_SUBSCHEMAS:
            return [f"It has more than {MAX_SUBSCHEMAS} subschemas."]
        for node in nodes:
            self._check_node(node, root=node is self.schema)
        if not self.problems:
            for node in nodes:
                self._measure(node, on_path=set())
                if self.problems:
                    break
        return self.problems

    def _nodes(self) -> list:
        """Every subschema, written in place or reached through a reference."""
        found, stack, seen = [], [self.schema], set()
        while stack and len(found) <= MAX_SUBSCHEMAS:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            found.append(node)
            stack.extend(_subschemas(node))
            stack.extend(target for _, target in self._references(node, report=False))
        return found

    def _references(self, node, *, report: bool) -> list[tuple[str, object]]:
        if not isinstance(node, dict):
            return []
        targets = []
        for keyword in REFERENCES:
            ref = node.get(keyword)
            if not isinstance(ref, str):
                continue
            if not ref.startswith("#"):
                if report:
                    self.problems.append(
                        f"{keyword} {ref!r} points outside the schema; only references inside it (#...) are allowed."
                    )
                continue
            try:
                targets.append((ref, self.resolver.lookup(ref).contents))
            except Unresolvable:
                if report:
                    self.problems.append(f"{keyword} {ref!r} does not resolve to any part of the schema.")
        return targets

    def _check_node(self, node, *, root: bool) -> None:
        if not isinstance(node, dict):
            return
        if "$id" in node:
            self.problems.append(
                f"$id {node['$id']!r} is not allowed: a settings schema is one self-contained document."
            )
        if "$schema" in node and not root:
            self.problems.append("$schema is allowed only at the top of the schema.")
        self._references(node, report=True)
        for pattern in [node.get("pattern"), *(node.get("patternProperties") or {})]:
            problem = pattern_problem(pattern)
            if problem:
                self.problems.append(problem)

    def _measure(self, node, on_path: set[int]) -> int:
        """How many subschemas apply to one value through `node`, references followed; a
        reference cycle that never moves to an inner value would never end."""
        key = id(node)
        if key in self.in_place_cost:
            return self.in_place_cost[key]
        if key in on_path:
            self.problems.append("Its references make a cycle that never moves into the value (e.g. $ref to '#').")
            return MAX_IN_PLACE + 1
        on_path.add(key)
        children = [*_in_place_children(node), *(target for _, target in self._references(node, report=False))]
        cost = 1
        for child in children:
            cost += self._measure(child, on_path)
            if cost > MAX_IN_PLACE:
                break
        on_path.discard(key)
        if cost > MAX_IN_PLACE and not self.problems:
            self.problems.append(
                f"One value would be checked against more than {MAX_IN_PLACE} subschemas (through allOf, anyOf, "
                "oneOf, not, if/then/else, dependentSchemas and references)."
            )
        self.in_place_cost[key] = cost
        return cost
