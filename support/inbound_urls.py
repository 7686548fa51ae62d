"""The authenticated inbound e-mail webhook; mounted by crm/urls.py at /inbound/."""

from django.urls import path

from support import inbound_views

app_name = "support_inbound"

urlpatterns = [
    path("email/", inbound_views.inbound_email, name="email"),
]
