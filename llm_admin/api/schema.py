"""The OpenAPI schema says what the server answers, errors included.

Every operation lists each error status it can really give, with that error's body, derived
from the view itself (who may call it, whether it takes input, names an object, honours
If-Match, deletes something others point at), so that a new view or a new rule is described
without being listed here. And every text field a model guards with a text rule carries
that rule as a pattern (the model states it: `request_text_patterns()`, as the registry's
models do for their one text rule), so the schema refuses what the server refuses.
"""

from django.db import models
from drf_spectacular import openapi
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework import permissions, serializers

ERROR = "Error"
FIELD_ERRORS = "FieldErrors"
FIELD_ERRORS_REF = {"$ref": "#/components/schemas/FieldErrors"}
IN_USE = "InUseConflict"
OPENAI_ERROR = "OpenAIError"
COMPONENTS = {
    ERROR: {
        "type": "object",
        "description": "Every error but a validation error: a message, and the extra keys the operation names.",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
    FIELD_ERRORS: {
        "type": "object",
        "description": "A validation error: each field that is wrong, with its messages; a nested field "
        "nests (an object of its own fields, or a list with one entry per item, `{}` for a good one). "
        '`non_field_errors` holds what concerns no one field; malformed JSON is `{"detail": message}`.',
        "additionalProperties": {
            "anyOf": [
                {"type": "array", "items": {"anyOf": [{"type": "string"}, FIELD_ERRORS_REF]}},
                FIELD_ERRORS_REF,
                {"type": "string"},
            ]
        },
    },
    IN_USE: {
        "type": "object",
        "description": "Not deleted: other objects still use it (up to 50 of them named).",
        "properties": {"detail": {"type": "string"}, "used_by": {"type": "array", "items": {"type": "string"}}},
        "required": ["detail", "used_by"],
    },
    OPENAI_ERROR: {
        "type": "object",
        "description": "An error in the shape of OpenAI's API.",
        "properties": {
            "error": {
                "type": "object",
                "properties": {
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                    "param": {"type": "string", "nullable": True},
                    "code": {"type": "string", "nullable": True},
                },
                "required": ["message", "type", "param", "code"],
            }
        },
        "required": ["error"],
    },
}
RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait before trying again.", "schema": {"type": "integer", "minimum": 0}}
}
# status: (why, what the route needs to be able to answer it, headers)
ERRORS = {
    "400": "The input is not valid: each field or parameter that is wrong, with why.",
    "401": "No credentials, or credentials that are not valid.",
    "403": "The credentials do not carry the right this needs.",
    "404": "No such object (or page).",
    "406": "No representation the Accept header allows (the API speaks JSON).",
    "409": "Not done: other objects still depend on it.",
    "411": "A body without a length (chunked) is not accepted.",
    "412": "The object changed since the version sent in If-Match; nothing was changed.",
    "413": "The body is larger than the limit.",
    "415": "The body is not JSON.",
    "429": "Too many requests, or too many failed sign-ins from this address.",
    "503": "The database cannot be reached; try again later.",
}


class AutoSchema(openapi.AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code, schema in self._error_bodies().items():
            if code in responses:  # the view describes this one itself (e.g. a 409's dependencies)
                continue
            response = self._get_response_for_code(schema, code, ["application/json"], direction)
            response["description"] = ERRORS[code]
            if code in ("429", "503"):
                response["headers"] = RETRY_AFTER
            responses[code] = response
        return dict(sorted(responses.items()))

    def _error_bodies(self) -> dict[str, dict]:
        """{status: body schema} of every error this operation can answer."""
        statuses = ["503"]  # any view reads the database
        if self._negotiates_content():
            statuses.append("406")
        if self._takes_input():
            statuses.append("400")
        if self._needs_credentials():
            statuses.append("403")
            if self.view.get_authenticators():  # credentials it checks (and throttles, failed ones first)
                statuses += ["401", "429"]
        if self._names_an_object() or self._is_paginated():
            statuses.append("404")
        if self._deletes_what_others_protect():
            statuses.append("409")
        if self._honours_if_match():
            statuses.append("412")
        if self._has_body():
            statuses += ["411", "413", "415"]
        openai = self.path.startswith("/v1/")
        bodies = {}
        for code in statuses:
            name = OPENAI_ERROR if openai else {"400": FIELD_ERRORS, "409": IN_USE}.get(code, ERROR)
            bodies[code] = self._component(name)
        return bodies

    def _component(self, name: str) -> dict:
        component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, object=name, schema=COMPONENTS[name])
        self.registry.register_on_missing(component)
        return component.ref

    def _has_body(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None

    def _takes_input(self) -> bool:
        query = any(parameter["in"] == "query" for parameter in self._get_parameters())
        return query or self._has_body()

    def _negotiates_content(self) -> bool:
        """Whether an Accept header can get a 406 (a view may answer errors in JSON regardless)."""
        return getattr(self.view.get_content_negotiator(), "can_refuse", True)

    def _needs_credentials(self) -> bool:
        return not any(isinstance(p, permissions.AllowAny) for p in self.view.get_permissions())

    def _names_an_object(self) -> bool:
        return "{" in self.path

    def _is_paginated(self) -> bool:
        return self._is_list_view() and self._get_paginator() is not None

    def _honours_if_match(self) -> bool:
        return any(
            parameter["in"] == "header" and parameter["name"].lower() == "if-match"
            for parameter in self._get_parameters()
        )

    def _deletes_what_others_protect(self) -> bool:
        """A viewset's own DELETE of an object that other rows point at with PROTECT or RESTRICT
        (the exception handler answers 409 naming them). Other actions declare their own."""
        model = getattr(getattr(self.view, "queryset", None), "model", None)
        if getattr(self.view, "action", None) != "destroy" or model is None:
            return False
        return any(relation.on_delete in (models.PROTECT, models.RESTRICT) for relation in model._meta.related_objects)

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "request":
            for name, pattern in self._text_patterns(serializer).items():
                field_schema = schema["properties"].get(name)
                if field_schema and field_schema.get("type") == "string" and "pattern" not in field_schema:
                    field_schema["pattern"] = pattern
        return schema

    @staticmethod
    def _text_patterns(serializer) -> dict[str, str]:
        """{name: pattern} of the serializer's plain text fields that write a model field its
        model guards with a text rule (a model says which: `request_text_patterns()`)."""
        model = getattr(getattr(serializer, "Meta", None), "model", None)
        patterns_of = getattr(model, "request_text_patterns", None)
        if patterns_of is None:
            return {}
        patterns = patterns_of()
        return {
            name: patterns[field.source]
            for name, field in serializer.fields.items()
            if isinstance(field, serializers.CharField) and field.source in patterns
        }
