from django.urls import path

from audit import views

app_name = "audit"

urlpatterns = [
    path("", views.audit_event_page, name="events"),
    path("sign-ins/", views.sign_in_event_page, name="sign_ins"),
    path("customers/", views.customer_data_search, name="customer_search"),
    path("customers/<int:pk>/", views.customer_data_page, name="customer_data"),
]
