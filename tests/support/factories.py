import datetime as dt

import factory
from django.utils import timezone

from support.models import (
    BusinessHours,
    BusinessSchedule,
    Holiday,
    SLAPolicy,
    Ticket,
    TicketMessage,
    TicketStatusChange,
)
from tests.customers.factories import CustomerFactory


class BusinessScheduleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BusinessSchedule
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Schedule {n}")
    time_zone = "Europe/Berlin"


class BusinessHoursFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BusinessHours

    schedule = factory.SubFactory(BusinessScheduleFactory)
    weekday = 0
    starts_at = dt.time(9, 0)
    ends_at = dt.time(17, 0)


class HolidayFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Holiday

    schedule = factory.SubFactory(BusinessScheduleFactory)
    name = "Holiday"


class SLAPolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SLAPolicy

    name = factory.Sequence(lambda n: f"SLA {n}")
    schedule = factory.SubFactory(BusinessScheduleFactory)
    first_response_minutes = 240
    resolution_minutes = 2400


class TicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ticket

    subject = factory.Sequence(lambda n: f"Ticket {n}")
    customer = factory.SubFactory(CustomerFactory)
    created_at = factory.LazyFunction(timezone.now)


class TicketMessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TicketMessage

    ticket = factory.SubFactory(TicketFactory)
    author_kind = TicketMessage.AuthorKind.CUSTOMER
    body = "Hello"
    created_at = factory.LazyFunction(timezone.now)


class TicketStatusChangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TicketStatusChange

    ticket = factory.SubFactory(TicketFactory)
    from_status = Ticket.Status.NEW
    to_status = Ticket.Status.OPEN


def business_week_schedule(
    *,
    name: str = "Office hours",
    time_zone: str = "Europe/Berlin",
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4),
    hours: tuple[tuple[dt.time, dt.time], ...] = ((dt.time(9), dt.time(17)),),
    is_default: bool = False,
) -> BusinessSchedule:
    """A schedule working the given wall-clock `hours` on each of `weekdays` (Mon–Fri 9–17)."""
    schedule: BusinessSchedule = BusinessScheduleFactory.create(
        name=name, time_zone=time_zone, is_default=is_default
    )
    BusinessHours.objects.bulk_create(
        BusinessHours(schedule=schedule, weekday=day, starts_at=start, ends_at=end)
        for day in weekdays
        for start, end in hours
    )
    return schedule
