"""The public survey answer page; mounted by crm/urls.py at /s/ (no login)."""

from django.urls import path

from surveys import public_views

app_name = "survey_public"

urlpatterns = [
    path("<str:token>/", public_views.survey_answer, name="answer"),
    path("<str:token>/thanks/", public_views.survey_thanks, name="thanks"),
]
