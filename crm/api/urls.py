"""/api/: the versioned resources under v1/, the OpenAPI schema and the interactive docs."""

from django.http import HttpRequest, JsonResponse
from django.urls import URLPattern, URLResolver, include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
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


urlpatterns = [
    path("v1/", include((v1, "api"), namespace="v1")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    re_path(r"^", api_not_found),
]
