from django.urls import path

from sales import views

app_name = "sales"

urlpatterns = [
    path("", views.opportunity_list, name="index"),
    path("my-day/", views.my_day, name="my_day"),
    path("pipeline/", views.pipeline, name="pipeline"),
    path("deals/<int:pk>/", views.opportunity_detail, name="opportunity_detail"),
    path("deals/<int:pk>/move/", views.opportunity_move, name="opportunity_move"),
    path("leads/", views.lead_list, name="lead_list"),
    path("leads/<int:pk>/", views.lead_detail, name="lead_detail"),
    path("leads/<int:pk>/convert/", views.lead_convert_view, name="lead_convert"),
    path("activities/new/", views.activity_log_view, name="activity_log"),
    path("activities/<int:pk>/complete/", views.activity_complete_view, name="activity_complete"),
    path("customers/<int:customer_pk>/orders/new/", views.order_create, name="order_create"),
]
