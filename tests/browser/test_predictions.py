"""End to end in Chromium: a manager reads the prediction model page (parameters and the
calibration/holdout chart), a rep opens a retention case from the at-risk tab of "my day" with one
click; screenshots in English and Chinese."""

import datetime as dt

import pytest
from django.urls import reverse

from predictions.services import prediction_score
from sales.models import RetentionCase
from tests.browser.conftest import log_in, use_language
from tests.customers.factories import CustomerFactory, TeamFactory, UserFactory
from tests.predictions.conftest import AS_OF, buy, published_run  # noqa: F401 - a fixture

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

CHART_READY = "() => document.querySelector('#prediction-tracking').dataset.chartState === 'ready'"


@pytest.mark.usefixtures("published_run")
def test_a_manager_reads_the_model_and_a_rep_acts_on_an_at_risk_customer(page, screenshot_dir):
    team = TeamFactory.create(name="North")
    rep = UserFactory.create(username="ada", role="Sales rep")
    UserFactory.create(username="maria", role="Manager")
    team.members.add(rep)
    # Bought every two weeks from March to June 2025, then nothing until AS_OF (2026-06-30).
    lapsed = CustomerFactory.create(owner=rep, team=team, name="Lapsed Ltd")
    buy(lapsed, *(dt.date(2025, 3, 3) + dt.timedelta(weeks=2 * k) for k in range(7)))
    prediction_score(as_of=AS_OF)

    log_in(page, "maria")
    page.goto(reverse("predictions:model"))
    page.wait_for_function(CHART_READY)
    in_use = page.get_by_test_id("runs-in-use").inner_text()
    assert "0.2426" in in_use  # r of the run in use
    assert "4.4135" in in_use  # α
    page.screenshot(path=str(screenshot_dir / "predictions-model.png"), full_page=True)
    use_language(page, "zh-hans")
    page.wait_for_function(CHART_READY)
    page.screenshot(path=str(screenshot_dir / "predictions-model-zh-hans.png"), full_page=True)

    page.context.clear_cookies()
    log_in(page, "ada")
    page.goto(reverse("predictions:at_risk"))
    row = page.get_by_test_id("at-risk-table").locator("tr", has_text="Lapsed Ltd")
    assert row.is_visible()
    page.screenshot(path=str(screenshot_dir / "predictions-at-risk.png"), full_page=True)
    row.get_by_role("button").click()
    page.wait_for_load_state("networkidle")

    case = RetentionCase.objects.get(customer=lapsed)
    assert case.owner_id == rep.pk
    use_language(page, "zh-hans")
    page.goto(reverse("predictions:at_risk"))
    assert page.get_by_test_id("my-day-tabs").is_visible()
    page.screenshot(path=str(screenshot_dir / "predictions-at-risk-zh-hans.png"), full_page=True)
