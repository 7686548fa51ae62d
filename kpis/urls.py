from django.urls import path

from kpis.views import analytics, charts, config, index_alerts, kpi, overview, segments, weights

app_name = "kpis"

urlpatterns = [
    path("", overview.overview, name="overview"),
    path("kpi/<slug:key>/", kpi.kpi_detail, name="kpi_detail"),
    path("kpi/<slug:key>/records/", kpi.kpi_drilldown, name="kpi_drilldown"),
    path(
        "kpi/<slug:key>/breakdown.json",
        charts.KpiBreakdownChartView.as_view(),
        name="kpi_breakdown",
    ),
    path("cohorts/", analytics.cohorts, name="cohorts"),
    # How customers move between RFM segments: kpis.views.segments.
    path("segments/movement/", segments.segment_movement_page, name="segment_movement"),
    path(
        "segments/movement/customers/",
        segments.segment_movement_customers_page,
        name="segment_movement_customers",
    ),
    path(
        "segments/movement/chart.json",
        segments.SegmentMovementChartView.as_view(),
        name="segment_movement_chart",
    ),
    path("nps/", analytics.nps, name="nps"),
    path("charts/nps.json", analytics.NpsChartView.as_view(), name="nps_chart"),
    path("support/", analytics.support_analytics, name="support"),
    path("charts/support.json", analytics.SupportChartView.as_view(), name="support_chart"),
    path("pipeline/", analytics.pipeline_analytics, name="pipeline"),
    path("charts/funnel.json", analytics.FunnelChartView.as_view(), name="funnel_chart"),
    path("leaderboard/", analytics.leaderboard, name="leaderboard"),
    path("index/", index_alerts.index_page, name="index"),
    path("charts/index.json", charts.IndexChartView.as_view(), name="index_chart"),
    path("charts/waterfall.json", charts.WaterfallChartView.as_view(), name="waterfall_chart"),
    # The index weights editor (admins).
    path("index/weights/", weights.weights_home, name="weights"),
    path("index/weights/drafts/", weights.weights_draft_create, name="weights_draft_create"),
    path("index/weights/<int:pk>/", weights.weights_version, name="weights_version"),
    path(
        "index/weights/<int:pk>/delete/",
        weights.weights_draft_delete,
        name="weights_draft_delete",
    ),
    path("index/weights/<int:pk>/preview/", weights.weights_preview, name="weights_preview"),
    path(
        "index/weights/<int:pk>/preview/compute/",
        weights.weights_preview_compute,
        name="weights_preview_compute",
    ),
    path("index/weights/<int:pk>/activate/", weights.weights_activate, name="weights_activate"),
    path("index/weights/jobs/<str:token>.json", weights.weights_job, name="weights_job"),
    path("alerts/", index_alerts.alerts_inbox, name="alerts"),
    path("alerts/<int:pk>/<slug:action>/", index_alerts.alert_action, name="alert_action"),
    # Targets and alert rules (managers and admins): kpis.views.config.
    path("targets/", config.targets_page, name="targets"),
    path("targets/sentence.json", config.target_sentence_preview, name="target_sentence"),
    path("targets/<int:pk>/edit/", config.target_edit, name="target_edit"),
    path("targets/<int:pk>/delete/", config.target_remove, name="target_delete"),
    path("alerts/rules/", config.alert_rules_page, name="alert_rules"),
    path("alerts/rules/<int:pk>/edit/", config.alert_rule_edit, name="alert_rule_edit"),
    path("alerts/rules/<int:pk>/delete/", config.alert_rule_remove, name="alert_rule_delete"),
    # Freshness: "recompute now" and the status JSON its progress bar polls.
    path("recompute/", overview.recompute, name="recompute"),
    path("last-run.json", overview.last_run, name="last_run"),
    path("recompute/<slug:token>/status.json", overview.recompute_status, name="recompute_status"),
    # Kept last: a KPI key could otherwise shadow the fixed paths above.
    path("<slug:key>/chart.json", charts.KpiChartView.as_view(), name="kpi_chart"),
]
