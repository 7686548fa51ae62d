from decimal import Decimal

import factory
from django.utils import timezone

from sales.models import (
    Activity,
    Campaign,
    Lead,
    MarketingSpend,
    Opportunity,
    Order,
    OrderLine,
    PipelineStage,
    Product,
    ProductLine,
    RetentionCase,
    SalesCost,
)
from tests.customers.factories import CustomerFactory


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    name = factory.Sequence(lambda n: f"Lead {n}")
    email = factory.Sequence(lambda n: f"lead{n}@example.com")
    created_at = factory.LazyFunction(timezone.now)


class PipelineStageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PipelineStage
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"stage-{n}")
    name = factory.LazyAttribute(lambda s: s.code.title())
    position = factory.Sequence(lambda n: n)
    probability = Decimal("0.2")


class OpportunityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Opportunity

    name = factory.Sequence(lambda n: f"Deal {n}")
    customer = factory.SubFactory(CustomerFactory)
    stage = factory.SubFactory(PipelineStageFactory)
    amount = Decimal("1000.00")
    created_at = factory.LazyFunction(timezone.now)


class ProductLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductLine
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"line-{n}")
    name = factory.LazyAttribute(lambda p: p.code.title())


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    product_line = factory.SubFactory(ProductLineFactory)
    unit_price = Decimal("10.00")


class OrderFactory(factory.django.DjangoModelFactory):
    """A raw order row; net_amount follows total, refunds and rate as the order services keep it."""

    class Meta:
        model = Order

    customer = factory.SubFactory(CustomerFactory)
    ordered_at = factory.LazyFunction(timezone.now)
    total = Decimal("100.00")
    net_amount = factory.LazyAttribute(
        lambda o: ((o.total - o.refunded_total) * o.exchange_rate).quantize(Decimal("0.01"))
    )
    refunded_total = Decimal("0")
    exchange_rate = Decimal("1")


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    product = factory.SubFactory(ProductFactory)
    quantity = 1
    unit_price = Decimal("100.00")
    line_total = factory.LazyAttribute(lambda line: line.unit_price * line.quantity)


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    kind = Activity.Kind.CALL
    subject = factory.Sequence(lambda n: f"Call {n}")
    customer = factory.SubFactory(CustomerFactory)
    created_at = factory.LazyFunction(timezone.now)


class MarketingSpendFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MarketingSpend

    amount = Decimal("1000.00")


class SalesCostFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SalesCost

    amount = Decimal("1000.00")


class RetentionCaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RetentionCase

    customer = factory.SubFactory(CustomerFactory)
