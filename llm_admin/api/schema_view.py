"""The published schema's view (its own module: DRF reads DEFAULT_SCHEMA_CLASS, in
llm_admin.api.schema, while defining any view)."""

from django.utils import translation
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SCHEMA_KWARGS, SpectacularAPIView
from rest_framework.response import Response


class SchemaView(SpectacularAPIView):
    """GET /api/v1/schema: drf-spectacular's view, generating the schema once per process.
    It changes only with the code, and generating it builds every view of the API, each
    with reference cycles of its own (see llm_admin.middleware.ReferenceCycleMiddleware).
    A request that asks for another version or language (`?version=`, `?lang=`) is
    generated afresh: those values are the client's, so they are not kept."""

    generated: dict[str, tuple[object, dict]] = {}  # by the language it was generated in

    @extend_schema(**SCHEMA_KWARGS)  # as drf-spectacular describes its own view
    def get(self, request, *args, **kwargs):
        if {"version", "lang"} & set(request.query_params):
            return super().get(request, *args, **kwargs)
        language = translation.get_language()
        if language not in self.generated:
            response = super().get(request, *args, **kwargs)
            self.generated[language] = (response.data, {"Content-Disposition": response["Content-Disposition"]})
        data, headers = self.generated[language]
        return Response(data=data, headers=headers)
