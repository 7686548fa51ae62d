"""The project URLs plus the public survey page and the inbound webhook, for tests that run
before (or after) the lead mounts them in crm/urls.py — never mounted twice."""

from django.urls import include, path

from crm.urls import urlpatterns as project_urlpatterns

_namespaces = {getattr(pattern, "namespace", None) for pattern in project_urlpatterns}

urlpatterns = list(project_urlpatterns)
if "survey_public" not in _namespaces:
    urlpatterns.append(path("s/", include("surveys.public_urls")))
if "support_inbound" not in _namespaces:
    urlpatterns.append(path("inbound/", include("support.inbound_urls")))
