from rest_framework.routers import SimpleRouter

from support.api import views

router = SimpleRouter()
router.register("tickets", views.TicketViewSet, basename="ticket")
router.register("sla-policies", views.SLAPolicyViewSet, basename="sla-policy")

urlpatterns = router.urls
