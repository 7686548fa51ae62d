from django.urls import path

from kpis import config_views, segment_views, views, weights_views

app_name = "kpis"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("kpi/<slug:key>/", views.kpi_detail, name="kpi_detail"),
    path("kpi/<slug:key>/records/", views.kpi_drilldown, name="kpi_drilldown"),
    path(
        "kpi/<slug:key>/breakdown.json", views.KpiBreakdownChartView.as_view(), name="kpi_breakdown"
    ),
    path("cohorts/", views.cohorts, name="cohorts"),
    # How customers move between RFM segments: kpis.segment_views.
    path("segments/movement/", segment_views.segment_movement_page, name="segment_movement"),
    path(
        "segments/movement/customers/",
        segment_views.segment_movement_customers_page,
        name="segment_movement_customers",
    ),
    path(
        "segments/movement/chart.json",
        segment_views.SegmentMovementChartView.as_view(),
        name="segment_movement_chart",
    ),
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
    # The index weights editor (admins).
    path("index/weights/", weights_views.weights_home, name="weights"),
    path("index/weights/drafts/", weights_views.weights_draft_create, name="weights_draft_create"),
    path("index/weights/<int:pk>/", weights_views.weights_version, name="weights_version"),
    path(
        "index/weights/<int:pk>/delete/",
        weights_views.weights_draft_delete,
        name="weights_draft_delete",
    ),
    path("index/weights/<int:pk>/preview/", weights_views.weights_preview, name="weights_preview"),
    path(
        "index/weights/<int:pk>/preview/compute/",
        weights_views.weights_preview_compute,
        name="weights_preview_compute",
    ),
    path(
        "index/weights/<int:pk>/activate/", weights_views.weights_activate, name="weights_activate"
    ),
    path("index/weights/jobs/<str:token>.json", weights_views.weights_job, name="weights_job"),
    path("alerts/", views.alerts_inbox, name="alerts"),
    path("alerts/<int:pk>/<slug:action>/", views.alert_action, name="alert_action"),
    # Targets and alert rules (managers and admins): kpis.config_views.
    path("targets/", config_views.targets_page, name="targets"),
    path("targets/sentence.json", config_views.target_sentence_preview, name="target_sentence"),
    path("targets/<int:pk>/edit/", config_views.target_edit, name="target_edit"),
    path("targets/<int:pk>/delete/", config_views.target_remove, name="target_delete"),
    path("alerts/rules/", config_views.alert_rules_page, name="alert_rules"),
    path("alerts/rules/<int:pk>/edit/", config_views.alert_rule_edit, name="alert_rule_edit"),
    path("alerts/rules/<int:pk>/delete/", config_views.alert_rule_remove, name="alert_rule_delete"),
    # Freshness: "recompute now" and the status JSON its progress bar polls.
    path("recompute/", views.recompute, name="recompute"),
    path("last-run.json", views.last_run, name="last_run"),
    path("recompute/<slug:token>/status.json", views.recompute_status, name="recompute_status"),
    # Kept last: a KPI key could otherwise shadow the fixed paths above.
    path("<slug:key>/chart.json", views.KpiChartView.as_view(), name="kpi_chart"),
]
