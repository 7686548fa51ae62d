"""Staff survey pages, mounted at /surveys/ (the public answer page is surveys.public_urls)."""

from django.urls import path

from surveys import views

app_name = "surveys"

urlpatterns = [
    path("responses/", views.response_list, name="responses"),
    path("results/", views.results, name="results"),
]
