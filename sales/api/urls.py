from rest_framework.routers import SimpleRouter

from sales.api import views

router = SimpleRouter()
router.register("leads", views.LeadViewSet, basename="lead")
router.register("opportunities", views.OpportunityViewSet, basename="opportunity")
router.register("pipeline-stages", views.PipelineStageViewSet, basename="pipeline-stage")
router.register("products", views.ProductViewSet, basename="product")
router.register("product-lines", views.ProductLineViewSet, basename="product-line")
router.register("orders", views.OrderViewSet, basename="order")
router.register("activities", views.ActivityViewSet, basename="activity")
router.register("campaigns", views.CampaignViewSet, basename="campaign")
router.register("marketing-spend", views.MarketingSpendViewSet, basename="marketing-spend")
router.register("sales-costs", views.SalesCostViewSet, basename="sales-cost")
router.register("retention-cases", views.RetentionCaseViewSet, basename="retention-case")

urlpatterns = router.urls
