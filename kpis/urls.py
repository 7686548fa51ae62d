from django.urls import path

from kpis import views

app_name = "kpis"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("kpi/<slug:key>/", views.kpi_detail, name="kpi_detail"),
    path("kpi/<slug:key>/records/", views.kpi_drilldown, name="kpi_drilldown"),
    path(
        "kpi/<slug:key>/breakdown.json", views.KpiBreakdownChartView.as_view(), name="kpi_breakdown"
    ),
    path("cohorts/", views.cohorts, name="cohorts"),
    path("nps/", views.nps, name="nps"),
    path("charts/nps.json", views.NpsChartView.as_view(), name="nps_chart"),
    path("support/", views.support_analytics, name="support"),
    path("charts/support.json", views.SupportChartView.as_view(), name="support_chart"),
    path("pipeline/", views.pipeline_analytics, name="pipeline"),
    path("charts/funnel.json", views.FunnelChartView.as_view(), name="funnel_chart"),
    path("leaderboard/", views.leaderboard, name="leaderboard"),
    path("index/", views.index_page, name="index"),
    path("charts/index.json", views.IndexChartView.as_view(), name="index_chart"),
    path("charts/waterfall.json", views.WaterfallChartView.as_view(), name="waterfall_chart"),
    path("alerts/", views.alerts_inbox, name="alerts"),
    path("alerts/<int:pk>/<slug:action>/", views.alert_action, name="alert_action"),
    path("targets/", views.targets_list, name="targets"),
    # Freshness: "recompute now" and the status JSON its progress bar polls.
    path("recompute/", views.recompute, name="recompute"),
    path("recompute/<slug:token>/status.json", views.recompute_status, name="recompute_status"),
    # Kept last: a KPI key could otherwise shadow the fixed paths above.
    path("<slug:key>/chart.json", views.KpiChartView.as_view(), name="kpi_chart"),
]
