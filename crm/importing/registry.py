"""Every importable kind by its key, in the order the docs and the upload page list them."""

from __future__ import annotations

from crm.importing.base import ImportKind
from crm.importing.kinds import CustomerKind, OrderKind, OrderLineKind, SurveyResponseKind
from crm.importing.kinds_pipeline import (
    ActivityKind,
    ContactKind,
    LeadKind,
    MarketingSpendKind,
    OpportunityKind,
    ProductKind,
    SalesCostKind,
)
from crm.importing.kinds_support import TicketKind, TicketMessageKind

KINDS: dict[str, ImportKind] = {
    kind.key: kind
    for kind in (
        CustomerKind(),
        ContactKind(),
        LeadKind(),
        OpportunityKind(),
        ProductKind(),
        OrderKind(),
        OrderLineKind(),
        ActivityKind(),
        TicketKind(),
        TicketMessageKind(),
        SurveyResponseKind(),
        MarketingSpendKind(),
        SalesCostKind(),
    )
}
