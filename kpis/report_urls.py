"""The period report (HTML and PDF) and the digest unsubscribe page; mounted at /reports/."""

from django.urls import path

from kpis import report_views

app_name = "reports"

urlpatterns = [
    path("period/", report_views.period_report, name="period"),
    path("period.pdf", report_views.period_report_pdf, name="period_pdf"),
    path("unsubscribe/<str:token>/", report_views.unsubscribe, name="unsubscribe"),
]
