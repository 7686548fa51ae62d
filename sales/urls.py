from django.urls import path

from sales import forecast_views, views

app_name = "sales"

urlpatterns = [
    path("", views.opportunity_list, name="index"),
    path("my-day/", views.my_day, name="my_day"),
    path("pipeline/", views.pipeline, name="pipeline"),
    path("deals/<int:pk>/", views.opportunity_detail, name="opportunity_detail"),
    path("deals/<int:pk>/move/", views.opportunity_move, name="opportunity_move"),
    path(
        "deals/<int:pk>/forecast-category/",
        views.opportunity_forecast_category,
        name="opportunity_forecast_category",
    ),
    path("forecast/", forecast_views.forecast, name="forecast"),
    path("forecast/take/", forecast_views.forecast_take, name="forecast_take"),
    path("forecast/chart.json", forecast_views.ForecastChartView.as_view(), name="forecast_chart"),
    path("leads/", views.lead_list, name="lead_list"),
    path("leads/<int:pk>/", views.lead_detail, name="lead_detail"),
    path("leads/<int:pk>/convert/", views.lead_convert_view, name="lead_convert"),
    path("activities/new/", views.activity_log_view, name="activity_log"),
    path("activities/<int:pk>/complete/", views.activity_complete_view, name="activity_complete"),
    path("customers/<int:customer_pk>/orders/new/", views.order_create, name="order_create"),
]
