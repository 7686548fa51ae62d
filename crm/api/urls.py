"""/api/: the versioned resources under v1/, the OpenAPI schema and the interactive docs."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, JsonResponse
from django.urls import URLPattern, URLResolver, include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)
from rest_framework.permissions import IsAuthenticated
from rest_framework.routers import SimpleRouter

from crm.api.tokens import ApiTokenViewSet, TokenLogoutAllView, TokenLogoutView

router = SimpleRouter()
router.register("tokens", ApiTokenViewSet, basename="api-token")

v1: list[URLPattern | URLResolver] = [
    path("", include("customers.api.urls")),
    path("", include("sales.api.urls")),
    path("", include("support.api.urls")),
    path("", include("surveys.api.urls")),
    path("kpis/", include("kpis.api.urls")),
    path("", include(router.urls)),
    # A token revokes itself (or all of its user's tokens); admins revoke any via tokens/.
    path("auth/logout/", TokenLogoutView.as_view(), name="api-logout"),
    path("auth/logout-all/", TokenLogoutAllView.as_view(), name="api-logout-all"),
]


@csrf_exempt
def api_not_found(request: HttpRequest) -> JsonResponse:
    """Unknown /api/ paths answer in JSON like the rest of the API, not with the HTML 404 page."""
    return JsonResponse({"detail": "Not found."}, status=404)


# The schema and docs describe every resource and field: signed-in users and tokens
# only. A browser without a session is sent to the login page; a script gets a 401.
# The split Swagger view serves its start-up script as a file, as script-src 'self' needs.
signed_in = [IsAuthenticated]
urlpatterns = [
    path("v1/", include((v1, "api"), namespace="v1")),
    path("schema/", SpectacularAPIView.as_view(permission_classes=signed_in), name="api-schema"),
    path(
        "docs/",
        login_required(
            SpectacularSwaggerSplitView.as_view(url_name="api-schema", permission_classes=signed_in)
        ),
        name="api-docs",
    ),
    path(
        "redoc/",
        login_required(
            SpectacularRedocView.as_view(url_name="api-schema", permission_classes=signed_in)
        ),
        name="api-redoc",
    ),
    re_path(r"^", api_not_found),
]
