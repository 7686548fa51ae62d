"""Values read like a person wrote them, in English and Simplified Chinese: dates in the
organisation's time zone, grouped numbers, money with its currency, humanised durations (business
hours said so), tel: links, band names, and date fields that do not ask for mm/dd/yyyy."""

import datetime as dt
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from audit.forms import AuditFilterForm
from crm.templatetags.pulse import kpi_value
from crm.templatetags.readable import band_label, business_duration, duration, tel
from crm.widgets import IsoDateInput

# 13:41 UTC is 14:41 in Berlin (CET, UTC+1, in December).
MOMENT = dt.datetime(2026, 12, 4, 13, 41, tzinfo=dt.UTC)


def render(source, language, **context):
    with translation.override(language):
        return Template("{% load readable %}" + source).render(Context(context))


@pytest.fixture(autouse=True)
def _berlin(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    settings.CRM_CURRENCY = "EUR"


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "4 Dec 2026, 14:41"), ("zh-hans", "2026年12月4日 14:41")],
)
def test_date_and_time_in_the_organisation_time_zone(language, expected):
    assert render('{{ at|date:"DATETIME_FORMAT" }}', language, at=MOMENT) == expected
    assert render('{{ at|date:"SHORT_DATETIME_FORMAT" }}', language, at=MOMENT) == expected


@pytest.mark.parametrize(
    ("language", "day", "month"),
    [("en", "4 Dec 2026", "December 2026"), ("zh-hans", "2026年12月4日", "2026年12月")],
)
def test_dates_and_months(language, day, month):
    assert render('{{ d|date:"DATE_FORMAT" }}', language, d=dt.date(2026, 12, 4)) == day
    assert render('{{ d|date:"YEAR_MONTH_FORMAT" }}', language, d=dt.date(2026, 12, 1)) == month
    # never "十二月 2026"
    assert "十二月" not in render('{{ d|date:"YEAR_MONTH_FORMAT" }}', language, d=MOMENT)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_thousand_separators_and_money_in_both_languages(language):
    assert render('{{ n|floatformat:"2g" }}', language, n=Decimal("1234567.5")) == "1,234,567.50"
    assert render("{{ n|money }}", language, n=Decimal("12345.5")) == "12,345.50 EUR"
    assert render('{{ n|money:"USD" }}', language, n=Decimal("-0.005")) == "-0.01 USD"
    assert render("{{ n|money }}", language, n=None) == "—"


@pytest.mark.parametrize(
    ("language", "short", "long", "business"),
    [
        ("en", "2 h 15 min", "3.5 days", "2 h 15 min (business hours)"),
        ("zh-hans", "2 小时 15 分钟", "3.5 天", "2 小时 15 分钟（工作时间）"),
    ],
)
def test_durations_are_humanised(language, short, long, business):
    with translation.override(language):
        assert duration(dt.timedelta(hours=2, minutes=15)) == short
        assert duration(135) == short
        assert duration(dt.timedelta(days=3, hours=12)) == long
        assert business_duration(135) == business


def test_duration_edges_in_english():
    with translation.override("en"):
        assert duration(45) == "45 min"
        assert duration(180) == "3 h"
        assert duration(Decimal("0.4")) == "under 1 min"
        assert duration(dt.timedelta(days=1)) == "1 day"
        assert duration(dt.timedelta(days=2)) == "2 days"
        # a business day is not 24 h: 40 business hours stay hours
        assert business_duration(2400) == "40 h (business hours)"
        assert duration(None) == "—"


@pytest.mark.parametrize(
    ("language", "minutes", "days"),
    [("en", "4 h (business hours)", "12.5 days"), ("zh-hans", "4 小时（工作时间）", "12.5 天")],
)
def test_kpi_durations_use_the_same_words(language, minutes, days):
    with translation.override(language):
        assert kpi_value(Decimal("240"), "minutes") == minutes
        assert kpi_value(Decimal("12.5"), "days") == days


def test_phone_numbers_are_tel_links_and_escaped():
    assert tel("+49 (30) 1234-567") == '<a href="tel:+49301234567">+49 (30) 1234-567</a>'
    assert tel('<b>"1"</b>') == (
        '<a href="tel:&lt;b&gt;&quot;1&quot;&lt;b&gt;">&lt;b&gt;&quot;1&quot;&lt;/b&gt;</a>'
    )
    assert tel("") == "—"


@pytest.mark.parametrize(
    ("language", "red", "green"), [("en", "red", "green"), ("zh-hans", "红色", "绿色")]
)
def test_band_names_are_translated(language, red, green):
    with translation.override(language):
        assert band_label("red") == red
        assert band_label("green") == green
        # a band an administrator named shows as named
        assert band_label("platinum") == "platinum"


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.django_db
def test_date_fields_are_text_with_an_iso_hint_and_accept_local_forms(language):
    with translation.override(language):
        html = IsoDateInput().render("since", dt.date(2026, 12, 4))
        form = AuditFilterForm({"since": "2026-12-04"})
        assert form.is_valid(), form.errors
    assert 'type="text"' in html
    assert 'value="2026-12-04"' in html
    assert 'placeholder="YYYY-MM-DD"' in html
    assert form.cleaned_data["since"] == dt.date(2026, 12, 4)


@pytest.mark.django_db
def test_chinese_date_fields_accept_the_chinese_form():
    with translation.override("zh-hans"):
        form = AuditFilterForm({"since": "2026年12月4日"})
        assert form.is_valid(), form.errors
    assert form.cleaned_data["since"] == dt.date(2026, 12, 4)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "below 0.5; changed -12.0 % against the previous period"),
        ("zh-hans", "低于 0.5; 较上一周期变化 -12.0 %"),
    ],
)
def test_alert_reasons_are_translated_without_the_kpi_key(language, expected):
    stored = "churn_rate: below 0.5; changed -12.0% vs previous period"

    assert render("{% load pulse %}{{ reason|alert_reason }}", language, reason=stored) == expected
