from django.urls import path

from attachments import views

app_name = "attachments"

urlpatterns = [
    path("<str:kind>/<int:pk>/", views.attachment_upload, name="upload"),
    path("<int:pk>/download/", views.attachment_download, name="download"),
    path("<int:pk>/delete/", views.attachment_delete_view, name="delete"),
]
