"""The period report (HTML and PDF), the digest unsubscribe page, the annotations page and
each user's digest subscriptions; mounted at /reports/."""

from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("period/", views.period_report, name="period"),
    path("period.pdf", views.period_report_pdf, name="period_pdf"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("annotations/", views.annotation_page, name="annotations"),
    path(
        "annotations/<int:pk>/delete/",
        views.annotation_remove,
        name="annotation_delete",
    ),
    path("digests/", views.digest_subscriptions, name="digests"),
    path(
        "digests/<int:pk>/delete/",
        views.digest_subscription_remove,
        name="digest_delete",
    ),
    path("digests/defaults/", views.digest_subscriptions_reset, name="digest_defaults"),
    path("digests/test/", views.digest_test_send, name="digest_test"),
]
