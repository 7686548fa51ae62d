from django.urls import path

from crm.importing import views

app_name = "imports"

urlpatterns = [
    path("", views.import_upload, name="upload"),
    path("template/<str:kind>.<str:file_format>", views.import_template, name="template"),
    path("<str:token>/", views.import_preview, name="preview"),
    path("<str:token>/run/", views.import_run, name="run"),
    path("<str:token>/status/", views.import_status, name="status"),
]
