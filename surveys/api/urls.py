from rest_framework.routers import SimpleRouter

from surveys.api import views

router = SimpleRouter()
router.register("surveys", views.SurveyViewSet, basename="survey")
router.register("survey-invitations", views.SurveyInvitationViewSet, basename="survey-invitation")
router.register("survey-responses", views.SurveyResponseViewSet, basename="survey-response")

urlpatterns = router.urls
