"""Data and tokens for the schemathesis run (.ci/schemathesis.sh); never used by the app.

`python manage.py shell -c "from crm.api.fuzz_fixtures import main; main('/tmp/dir')"` writes
`admin.token` and `rep.token` into the directory.
"""

import datetime as dt
from decimal import Decimal
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from knox.models import AuthToken

from crm.roles import ADMIN, SALES_REP
from customers.models import Channel, Customer, Segment, Team
from sales.models import PipelineStage, Product, ProductLine
from support.models import BusinessSchedule
from surveys.models import Survey, SurveyKind


def main(directory: str) -> None:
    User = get_user_model()
    team, _ = Team.objects.get_or_create(name="Fuzz team")
    admin, _ = User.objects.get_or_create(username="fuzz-admin")
    rep, _ = User.objects.get_or_create(username="fuzz-rep")
    admin.groups.add(Group.objects.get(name=ADMIN))
    rep.groups.add(Group.objects.get(name=SALES_REP))
    team.members.add(rep)
    Channel.objects.get_or_create(code="web", defaults={"name": "Web"})
    Segment.objects.get_or_create(code="smb", defaults={"name": "SMB"})
    line, _ = ProductLine.objects.get_or_create(code="core", defaults={"name": "Core"})
    Product.objects.get_or_create(
        sku="FUZZ-1", defaults={"name": "Widget", "product_line": line, "unit_price": Decimal(10)}
    )
    for position, (code, won, lost) in enumerate(
        [("new", False, False), ("won", True, False), ("lost", False, True)]
    ):
        PipelineStage.objects.get_or_create(
            code=code,
            defaults={
                "name": code.title(),
                "position": position,
                "is_won": won,
                "is_lost": lost,
                "probability": Decimal("1") if won else Decimal("0.2"),
            },
        )
    BusinessSchedule.objects.get_or_create(name="Office", defaults={"is_default": True})
    Survey.objects.get_or_create(
        name="NPS",
        defaults={"kind": SurveyKind.NPS, "question": "Recommend us?", "trigger": "relationship"},
    )
    Customer.objects.get_or_create(name="Fuzz customer", defaults={"team": team, "owner": rep})
    out = Path(directory)
    for user, name in ((admin, "admin"), (rep, "rep")):
        _, token = AuthToken.objects.create(user=user, expiry=dt.timedelta(days=1))
        (out / f"{name}.token").write_text(token)
