from django.urls import path
from rest_framework.routers import SimpleRouter

from kpis.api import views
from kpis.views import segments

router = SimpleRouter()
router.register("catalogue", views.KpiCatalogueViewSet, basename="kpi-catalogue")
router.register("snapshots", views.KpiSnapshotViewSet, basename="kpi-snapshot")
router.register("index", views.IndexSnapshotViewSet, basename="kpi-index")
router.register("weight-versions", views.WeightVersionViewSet, basename="kpi-weight-version")
router.register("targets", views.TargetViewSet, basename="kpi-target")
router.register("alert-rules", views.AlertRuleViewSet, basename="kpi-alert-rule")
router.register("alerts", views.AlertViewSet, basename="kpi-alert")

urlpatterns = [
    path(
        "segment-movement/",
        segments.SegmentMovementApiView.as_view(),
        name="kpi-segment-movement",
    ),
    *router.urls,
]
