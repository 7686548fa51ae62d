"""API tokens for integrations: an admin issues one (plaintext shown once) and revokes it.

Tokens are django-rest-knox tokens: only a hash is stored, each has an expiry. The Django admin
("Auth tokens") offers the same; this endpoint lets an admin script it.
"""

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from knox import views as knox_views
from knox.auth import TokenAuthentication
from knox.models import AuthToken
from knox.settings import knox_settings
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.pagination import StablePageNumberPagination
from crm.api.permissions import IsCrmAdmin
from crm.api.serializers import ApiModelSerializer
from crm.api.viewsets import ApiViewMixin

User = get_user_model()


class ApiTokenSerializer(ApiModelSerializer):
    username = serializers.CharField(source="user.get_username", read_only=True)

    class Meta:
        model = AuthToken
        fields = ["token_key", "user", "username", "created", "expiry"]
        read_only_fields = fields


class ApiTokenCreateSerializer(serializers.Serializer):
    user = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True))
    expiry_days = serializers.IntegerField(
        min_value=1,
        max_value=3650,
        required=False,
        help_text=_("Days until the token expires; default REST_KNOX TOKEN_TTL."),
    )


class ApiTokenIssuedSerializer(ApiTokenSerializer):
    token = serializers.CharField(
        read_only=True, help_text=_("The token itself. Shown only in this response; store it.")
    )

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]
        read_only_fields = fields


class ApiTokenViewSet(
    ApiViewMixin,
    mixins.ListModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Admins list, issue and revoke per-user API tokens."""

    permission_classes = [IsCrmAdmin]
    serializer_class = ApiTokenSerializer
    pagination_class = StablePageNumberPagination
    lookup_field = "token_key"
    lookup_value_regex = r"[^/]+"

    def get_queryset(self) -> QuerySet[AuthToken]:
        return AuthToken.objects.select_related("user").order_by("-created", "digest")

    @extend_schema(request=ApiTokenCreateSerializer, responses={201: ApiTokenIssuedSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = ApiTokenCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        days = payload.validated_data.get("expiry_days")
        expiry = dt.timedelta(days=days) if days else knox_settings.TOKEN_TTL
        instance, token = AuthToken.objects.create(
            user=payload.validated_data["user"], expiry=expiry
        )
        body = ApiTokenSerializer(instance).data
        return Response({**body, "token": token}, status=status.HTTP_201_CREATED)


@extend_schema(request=None, responses={204: None}, description=_("Revoke the token used."))
class TokenLogoutView(ApiViewMixin, knox_views.LogoutView):
    authentication_classes = [TokenAuthentication]


@extend_schema(
    request=None, responses={204: None}, description=_("Revoke every token of the token's user.")
)
class TokenLogoutAllView(ApiViewMixin, knox_views.LogoutAllView):
    authentication_classes = [TokenAuthentication]
