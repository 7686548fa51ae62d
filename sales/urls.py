from django.urls import path

from sales import forecast_views, record_views, views

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
    path("leads/new/", record_views.lead_create, name="lead_create"),
    path("leads/<int:pk>/edit/", record_views.lead_edit, name="lead_edit"),
    path("leads/<int:pk>/qualify/", record_views.lead_qualify, name="lead_qualify"),
    path("leads/<int:pk>/disqualify/", record_views.lead_disqualify, name="lead_disqualify"),
    path("leads/<int:pk>/merge/", record_views.lead_merge, name="lead_merge"),
    path("deals/new/", record_views.deal_create, name="deal_create"),
    path("deals/<int:pk>/edit/", record_views.deal_edit, name="deal_edit"),
    path("deals/<int:pk>/won/", record_views.deal_won, name="deal_won"),
    path("deals/<int:pk>/lost/", record_views.deal_lost, name="deal_lost"),
    path("orders/<int:pk>/", record_views.order_detail, name="order_detail"),
    path("orders/<int:pk>/edit/", record_views.order_edit, name="order_edit"),
    path("orders/<int:pk>/cancel/", record_views.order_cancel, name="order_cancel"),
    path("orders/<int:pk>/refund/", record_views.order_refund, name="order_refund"),
    path("activities/new/", views.activity_log_view, name="activity_log"),
    path("activities/<int:pk>/complete/", views.activity_complete_view, name="activity_complete"),
    path("customers/<int:customer_pk>/orders/new/", views.order_create, name="order_create"),
]
