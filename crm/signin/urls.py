from django.urls import path

from crm.signin import views

urlpatterns = [
    path("setup/", views.two_factor_setup, name="two_factor_setup"),
    path("verify/", views.two_factor_verify, name="two_factor_verify"),
    path("recovery-codes/", views.two_factor_recovery_codes, name="two_factor_recovery_codes"),
]
