from django.urls import path

from audit import history_views

app_name = "history"

urlpatterns = [
    path("<str:kind>/<int:pk>/", history_views.record_history_page, name="record"),
]
