"""The project's URLs plus /reports/ and the reports admin, until the lead mounts
kpis.report_urls in crm/urls.py and imports kpis.report_admin from kpis/admin.py."""

from django.contrib import admin
from django.urls import include, path
from django.urls.resolvers import URLResolver

from crm.urls import urlpatterns as project_urlpatterns
from kpis import report_admin  # noqa: F401 - registers the reports' admin classes

mounted = any(
    isinstance(pattern, URLResolver) and pattern.namespace == "reports"
    for pattern in project_urlpatterns
)
# The admin's URLs are built once per access: rebuild them so they include our models even when
# crm.urls was imported (and its admin patterns built) before kpis.report_admin registered them.
urlpatterns = [
    path("admin/", admin.site.urls)
    if isinstance(pattern, URLResolver) and pattern.app_name == "admin"
    else pattern
    for pattern in project_urlpatterns
]
if not mounted:
    urlpatterns.append(path("reports/", include("kpis.report_urls")))
