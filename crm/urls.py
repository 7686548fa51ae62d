from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from crm import bulk_views, health, saved_view_views, views

urlpatterns = [
    path("", views.home, name="home"),
    # Probes: no login, JSON, 200/503.
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # Two-factor sign-in steps.
    path("account/two-factor/", include("crm.signin.urls")),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password/change/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    # The reset e-mail goes through EMAIL_BACKEND: the console backend unless EMAIL_HOST is set.
    path("password/reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password/reset/done/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("search/", views.search, name="search"),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/<int:pk>/read/", views.notification_read, name="notification_read"),
    path("notifications/read-all/", views.notifications_read_all, name="notifications_read_all"),
    # Bulk actions and saved views of the customer, lead, deal and ticket lists.
    path(
        "bulk/",
        include(
            (
                [
                    path("<slug:kind_key>/start/", bulk_views.bulk_start, name="start"),
                    path("<slug:kind_key>/fields/", bulk_views.bulk_fields, name="fields"),
                    path("jobs/<int:pk>/", bulk_views.bulk_job_detail, name="job"),
                    path("jobs/<int:pk>/status/", bulk_views.bulk_job_status, name="status"),
                ],
                "bulk",
            )
        ),
    ),
    path(
        "views/",
        include(
            (
                [
                    path(
                        "<slug:list_key>/save/",
                        saved_view_views.saved_view_create,
                        name="create",
                    ),
                    path(
                        "<slug:list_key>/default/clear/",
                        saved_view_views.saved_view_clear_default,
                        name="clear_default",
                    ),
                    path(
                        "<int:pk>/share/",
                        saved_view_views.saved_view_share_toggle,
                        name="share",
                    ),
                    path(
                        "<int:pk>/default/",
                        saved_view_views.saved_view_make_default,
                        name="default",
                    ),
                    path("<int:pk>/delete/", saved_view_views.saved_view_remove, name="delete"),
                ],
                "saved_views",
            )
        ),
    ),
    path("administration/", views.administration, name="administration"),
    # The audit trail and customer data rights (admins only).
    path("administration/audit/", include("audit.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/", include("crm.api.urls")),
    # Public survey answer pages: no login, token in the URL.
    path("s/", include("surveys.public_urls")),
    path("inbound/", include("support.inbound_urls")),
    path("imports/", include("crm.importing.urls")),
    path("customers/", include("customers.urls")),
    path("sales/", include("sales.urls")),
    path("support/", include("support.urls")),
    path("surveys/", include("surveys.urls")),
    path("kpis/", include("kpis.urls")),
    path("reports/", include("reports.urls")),
    # Customer predictions: model page, at-risk list.
    path("predictions/", include("predictions.urls")),
    # Any record's files and change history, each behind the record's visibility.
    path("attachments/", include("attachments.urls")),
    path("history/", include("audit.history_urls")),
]
