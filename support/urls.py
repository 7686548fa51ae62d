from django.urls import path

from support import record_views, views

app_name = "support"

urlpatterns = [
    path("", views.ticket_list, name="index"),
    path("export.csv", views.ticket_export, name="export"),
    path("tickets/new/", record_views.ticket_create, name="ticket_create"),
    path("tickets/<int:pk>/edit/", record_views.ticket_edit, name="ticket_edit"),
    path("tickets/<int:pk>/merge/", record_views.ticket_merge, name="ticket_merge"),
    path("tickets/<int:pk>/", views.ticket_detail, name="ticket_detail"),
    path("tickets/<int:pk>/messages/", views.ticket_message, name="ticket_message"),
    path("tickets/<int:pk>/status/", views.ticket_status, name="ticket_status"),
    path("tickets/<int:pk>/assign/", views.ticket_assign, name="ticket_assign"),
]
