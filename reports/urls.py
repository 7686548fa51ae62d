"""The period report (HTML and PDF), the digest unsubscribe page, the annotations page and
each user's digest subscriptions; mounted at /reports/."""

from django.urls import path

from kpis import report_views

app_name = "reports"

urlpatterns = [
    path("period/", report_views.period_report, name="period"),
    path("period.pdf", report_views.period_report_pdf, name="period_pdf"),
    path("unsubscribe/<str:token>/", report_views.unsubscribe, name="unsubscribe"),
    path("annotations/", report_views.annotation_page, name="annotations"),
    path(
        "annotations/<int:pk>/delete/",
        report_views.annotation_remove,
        name="annotation_delete",
    ),
    path("digests/", report_views.digest_subscriptions, name="digests"),
    path(
        "digests/<int:pk>/delete/",
        report_views.digest_subscription_remove,
        name="digest_delete",
    ),
    path("digests/defaults/", report_views.digest_subscriptions_reset, name="digest_defaults"),
    path("digests/test/", report_views.digest_test_send, name="digest_test"),
]
