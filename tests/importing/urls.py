"""The project's URLs plus the import page, until the lead mounts it in crm/urls.py."""

from django.urls import include, path

from crm.urls import urlpatterns as project_urlpatterns

urlpatterns = list(project_urlpatterns)
if not any(getattr(pattern, "namespace", None) == "imports" for pattern in urlpatterns):
    urlpatterns.append(path("imports/", include("crm.importing.urls")))
