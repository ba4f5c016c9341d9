"""/api/v1/changes: the change feed (docs/contract.md §7, "Change events").

Thin on purpose: the parameters are checked by `ChangeFeedParameters`, resolved against
the registry by `selectors.change_feed_filter`, and read (and waited for) by `audit.feed`.
"""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.api.serializers import ChangeFeedSerializer, CursorExpiredSerializer
from audit.feed import CursorBeyondEnd, CursorExpired, follow_changes
from llm_admin.api.permissions import requires
from models_registry.api.serializers import ChangeFeedParameters
from models_registry.selectors import change_feed_filter


class ChangeFeedView(APIView):
    permission_classes = [requires("models_registry.view_aimodel")]

    @extend_schema(
        summary="Change events in commit order, after a cursor; optionally waiting for the next one",
        parameters=[ChangeFeedParameters],
        responses={
            200: ChangeFeedSerializer,
            410: OpenApiResponse(
                CursorExpiredSerializer, description="`after` is older than what retention kept: start from `oldest`."
            ),
        },
    )
    def get(self, request):
        parameters = ChangeFeedParameters(data=request.query_params)
        parameters.is_valid(raise_exception=True)
        given = parameters.validated_data
        where = change_feed_filter(
            types=given["type"],
            model=given.get("model"),
            provider=given.get("provider"),
            dependent=given.get("dependent"),
        )
        try:
            page = follow_changes(after=given.get("after"), limit=given["limit"], where=where, wait=given["wait"])
        except CursorExpired as expired:
            return Response({"detail": str(expired), "oldest": expired.oldest}, status=status.HTTP_410_GONE)
        except CursorBeyondEnd as beyond:
            raise ValidationError({"after": [str(beyond)]}) from beyond
        return Response({"results": page.results, "next": page.next})
