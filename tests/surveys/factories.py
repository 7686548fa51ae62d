import factory
from django.utils import timezone

from surveys.models import Survey, SurveyInvitation, SurveyKind, SurveyResponse
from tests.customers.factories import CustomerFactory


class SurveyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Survey
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Survey {n}")
    kind = SurveyKind.NPS
    question = "How likely are you to recommend us to a friend?"
    trigger = Survey.Trigger.RELATIONSHIP


class SurveyInvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SurveyInvitation

    survey = factory.SubFactory(SurveyFactory)
    customer = factory.SubFactory(CustomerFactory)
    status = SurveyInvitation.Status.DELIVERED
    sent_at = factory.LazyFunction(timezone.now)


class SurveyResponseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SurveyResponse

    survey = factory.SubFactory(SurveyFactory)
    kind = factory.LazyAttribute(lambda r: r.survey.kind)
    customer = factory.SubFactory(CustomerFactory)
    score = 9
    responded_at = factory.LazyFunction(timezone.now)
