from rest_framework.routers import SimpleRouter

from customers.api import views

router = SimpleRouter()
router.register("customers", views.CustomerViewSet, basename="customer")
router.register("contacts", views.ContactViewSet, basename="contact")
router.register("teams", views.TeamViewSet, basename="team")
router.register("channels", views.ChannelViewSet, basename="channel")
router.register("segments", views.SegmentViewSet, basename="segment")

urlpatterns = router.urls
