"""The SQL floor: one month's whole KPI catalogue by hand-written SQL, in the fewest scans.

This is what PostgreSQL needs at minimum to produce the catalogue at every dimension: one grouped
pass over orders (per customer, with FILTERed aggregates for every instant the activity rule is
evaluated at), one over order lines for product lines and cross-sell, one over tickets, one over
survey responses and invitations, one over ticket messages / activities for engagement, and small
passes over leads, opportunities, activities and retention cases. Dimensions come from
GROUPING SETS, so each pass serves every dimension at once.

The semantics follow kpis/activity.py (active at t, churned, reactivated) closely enough that the
cross-checked figures (revenue, orders, customers_new, nps at dimension `all`) must be identical;
the other figures are computed to give the floor the same amount of work, not as a second
implementation of the catalogue.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

CUSTOMER_SETS = (
    "GROUPING SETS ((), (segment_id), (team_id), (owner_id), (channel_id), (rfm_segment))"
)
CLV_MONTHS = 12


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + (day.month - 1) + months
    return dt.date(index // 12, index % 12 + 1, 1)


def local_midnight(day: dt.date, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=tz)


def active_sql(last: str, at: str) -> str:
    """SQL: the customer row `c` (with its order summary column `last` = last order before the
    instant `at`, and `inactivity` its window) is active at `at` (kpis/activity.py rule)."""
    return f"""(c.acquired_at < {at} AND (
        CASE WHEN c.churned_at IS NOT NULL OR c.contract_end_date IS NOT NULL THEN
            ((c.churned_at IS NULL OR c.churned_at >= {at})
             AND (c.contract_end_date IS NULL
                  OR c.contract_end_date >= ({at} AT TIME ZONE %(tz)s)::date))
            OR ({last} >= {at} - inactivity AND {last} > coalesce(c.churned_at, '-infinity'))
        ELSE coalesce({last} >= {at} - inactivity, false) OR c.acquired_at >= {at} - inactivity
        END))"""


def customer_base_sql() -> str:
    """Per-customer facts for the month: one pass over orders, one over lines, plus flags."""
    last_columns = ",\n".join(
        f"max(ordered_at) FILTER (WHERE ordered_at < %(m{k})s) AS last_{k}"
        for k in range(CLV_MONTHS + 1)
    )
    active_columns = ",\n".join(
        f"{active_sql(f'o.last_{k}', f'%(m{k})s')} AS active_{k}" for k in range(CLV_MONTHS + 1)
    )
    return f"""
CREATE TEMP TABLE floor_customers ON COMMIT DROP AS
WITH o AS (
    SELECT customer_id,
        {last_columns},
        count(*) FILTER (WHERE ordered_at >= %(s)s) AS orders_p,
        sum(net_amount) FILTER (WHERE ordered_at >= %(s)s) AS revenue_p,
        count(*) FILTER (WHERE ordered_at >= %(m0)s) AS orders_12,
        sum(net_amount) FILTER (WHERE ordered_at >= %(m0)s) AS revenue_12,
        sum(net_amount) AS revenue_to_e,
        min(ordered_at) AS first_order
    FROM sales_order
    WHERE status <> 'cancelled' AND ordered_at < %(e)s
    GROUP BY customer_id
), days AS (
    SELECT customer_id, count(DISTINCT (ordered_at AT TIME ZONE %(tz)s)::date) AS days_p
    FROM sales_order
    WHERE status <> 'cancelled' AND ordered_at >= %(s)s AND ordered_at < %(e)s
    GROUP BY customer_id
), line_firsts AS (
    SELECT o.customer_id, p.product_line_id, min(o.ordered_at) AS first_at
    FROM sales_orderline l
    JOIN sales_order o ON o.id = l.order_id
    JOIN sales_product p ON p.id = l.product_id
    WHERE o.status <> 'cancelled' AND o.ordered_at < %(e)s
    GROUP BY o.customer_id, p.product_line_id
), cross_sold AS (
    SELECT customer_id FROM line_firsts GROUP BY customer_id HAVING max(first_at) >= %(s)s
), interactions AS (
    SELECT customer_id FROM sales_activity
    WHERE done_at >= %(s)s AND done_at < %(e)s AND NOT is_bulk
      AND kind IN ('call', 'email', 'meeting', 'chat') AND customer_id IS NOT NULL
    UNION
    SELECT t.customer_id FROM support_ticketmessage m JOIN support_ticket t ON t.id = m.ticket_id
    WHERE m.created_at >= %(s)s AND m.created_at < %(e)s AND m.author_kind <> 'system'
    UNION
    SELECT customer_id FROM surveys_surveyresponse
    WHERE responded_at >= %(s)s AND responded_at < %(e)s
), complaints AS (
    SELECT customer_id, count(*) AS complaints FROM support_ticket
    WHERE category = 'complaint' AND NOT is_spam AND merged_into_id IS NULL
      AND created_at >= %(s)s AND created_at < %(e)s
    GROUP BY customer_id
), upsold AS (
    SELECT DISTINCT customer_id FROM sales_opportunity
    WHERE outcome = 'won' AND kind IN ('upsell', 'cross_sell')
      AND closed_at >= %(s)s AND closed_at < %(e)s
)
SELECT c.id, c.segment_id, c.team_id, c.owner_id, c.channel_id, c.rfm_segment,
    c.acquired_at, c.referred_by_id, c.email, c.phone,
    coalesce(o.orders_p, 0) AS orders_p, coalesce(o.revenue_p, 0) AS revenue_p,
    coalesce(o.orders_12, 0) AS orders_12, coalesce(o.revenue_12, 0) AS revenue_12,
    coalesce(o.revenue_to_e, 0) AS revenue_to_e, o.first_order,
    coalesce(days.days_p, 0) AS days_p,
    cross_sold.customer_id IS NOT NULL AS cross_sold,
    interactions.customer_id IS NOT NULL AS interacted,
    coalesce(complaints.complaints, 0) AS complaints,
    upsold.customer_id IS NOT NULL AS upsold,
    {active_columns}
FROM customers_customer c
LEFT JOIN customers_segment seg ON seg.id = c.segment_id
CROSS JOIN LATERAL (
    SELECT make_interval(days => coalesce(seg.inactivity_days, %(default_days)s)) AS inactivity
) w
LEFT JOIN o ON o.customer_id = c.id
LEFT JOIN days ON days.customer_id = c.id
LEFT JOIN cross_sold ON cross_sold.customer_id = c.id
LEFT JOIN interactions ON interactions.customer_id = c.id
LEFT JOIN complaints ON complaints.customer_id = c.id
LEFT JOIN upsold ON upsold.customer_id = c.id
"""


def customer_kpis_sql() -> str:
    last = CLV_MONTHS
    prev = CLV_MONTHS - 1
    churn_terms = " + ".join(f"(active_{k} AND NOT active_{k + 1})::int" for k in range(CLV_MONTHS))
    active_terms = " + ".join(f"active_{k}::int" for k in range(CLV_MONTHS))
    return f"""
SELECT GROUPING(segment_id, team_id, owner_id, channel_id, rfm_segment) AS level,
    segment_id, team_id, owner_id, channel_id, rfm_segment,
    count(*) FILTER (WHERE acquired_at >= %(s)s AND acquired_at < %(e)s) AS customers_new,
    count(*) FILTER (WHERE acquired_at >= %(s)s AND acquired_at < %(e)s
                     AND referred_by_id IS NOT NULL) AS referred_new,
    count(*) FILTER (WHERE active_{last}) AS active_end,
    count(*) FILTER (WHERE active_{prev}) AS active_start,
    count(*) FILTER (WHERE active_{prev} AND NOT active_{last}) AS churned,
    count(*) FILTER (WHERE acquired_at < %(s)s AND NOT active_{prev} AND orders_p > 0)
        AS reactivated,
    count(*) FILTER (WHERE acquired_at < %(s)s AND NOT active_{prev}) AS churned_at_start,
    sum(revenue_p) AS revenue,
    sum(orders_p) AS orders,
    count(*) FILTER (WHERE orders_p > 0) AS ordering,
    count(*) FILTER (WHERE days_p >= 2) AS repeat_buyers,
    count(*) FILTER (WHERE orders_p > 0 AND first_order < %(s)s) AS returning,
    count(*) FILTER (WHERE orders_p > 0 AND first_order < %(s)s AND cross_sold) AS cross_sold,
    count(*) FILTER (WHERE upsold AND acquired_at < %(s)s) AS upsold,
    avg(revenue_to_e) FILTER (WHERE active_{last}) AS clv_historic,
    sum(complaints) AS complaints,
    count(*) FILTER (WHERE active_{prev} OR (acquired_at >= %(s)s AND acquired_at < %(e)s)
                     OR orders_p > 0) AS active_during,
    count(*) FILTER (WHERE interacted AND (active_{prev} OR orders_p > 0
                     OR (acquired_at >= %(s)s AND acquired_at < %(e)s))) AS engaged,
    sum(revenue_12) AS revenue_12,
    sum(orders_12) AS orders_12,
    count(*) FILTER (WHERE orders_12 > 0) AS customers_12,
    sum({churn_terms}) AS churned_12,
    sum({active_terms}) AS active_12,
    count(*) FILTER (WHERE (email <> '' OR phone <> '') AND owner_id IS NOT NULL
                     AND segment_id IS NOT NULL) AS complete,
    count(*) AS customers
FROM floor_customers
GROUP BY {CUSTOMER_SETS}
"""


TOP20_SQL = """
SELECT dimension, value,
    sum(revenue_p) FILTER (WHERE rank <= ceil(ordering * 0.2)) / nullif(sum(revenue_p), 0)
FROM (
    SELECT d.dimension, d.value, f.revenue_p,
        row_number() OVER (PARTITION BY d.dimension, d.value ORDER BY f.revenue_p DESC) AS rank,
        count(*) OVER (PARTITION BY d.dimension, d.value) AS ordering
    FROM floor_customers f
    CROSS JOIN LATERAL (
        VALUES ('all', ''), ('segment', f.segment_id::text), ('team', f.team_id::text),
               ('channel', f.channel_id::text)
    ) d(dimension, value)
    WHERE f.orders_p > 0
) ranked
GROUP BY dimension, value
"""

PRODUCT_LINE_SQL = """
SELECT p.product_line_id, sum(o.net_amount * l.line_total / nullif(o.total, 0))
FROM sales_order o
JOIN sales_orderline l ON l.order_id = o.id
JOIN sales_product p ON p.id = l.product_id
WHERE o.status <> 'cancelled' AND o.ordered_at >= %(s)s AND o.ordered_at < %(e)s
GROUP BY p.product_line_id
"""

ACQUISITION_SQL = """
WITH new_customers AS (
    SELECT id, channel_id, acquired_at FROM customers_customer
    WHERE acquired_at >= %(s)s AND acquired_at < %(e)s
), cohort_revenue AS (
    SELECT n.channel_id, sum(o.net_amount) AS revenue
    FROM new_customers n
    JOIN sales_order o ON o.customer_id = n.id AND o.status <> 'cancelled'
        AND o.ordered_at >= n.acquired_at AND o.ordered_at < n.acquired_at + interval '90 days'
    GROUP BY ROLLUP (n.channel_id)
), spend AS (
    SELECT channel_id, sum(amount) AS amount FROM sales_marketingspend
    WHERE period_start >= %(sd)s AND period_start < %(ed)s GROUP BY ROLLUP (channel_id)
)
SELECT s.channel_id, s.amount, r.revenue,
    (SELECT sum(amount) FROM sales_salescost WHERE period_start >= %(sd)s AND period_start < %(ed)s)
FROM spend s
FULL JOIN cohort_revenue r ON coalesce(r.channel_id, 0) = coalesce(s.channel_id, 0)
"""

TICKETS_SQL = """
SELECT GROUPING(t.team_id, t.assignee_id, c.segment_id) AS level, t.team_id, t.assignee_id,
    c.segment_id,
    count(*) FILTER (WHERE first_response_at >= %(s)s AND first_response_at < %(e)s
                     AND first_response_business_minutes IS NOT NULL) AS first_n,
    avg(first_response_business_minutes)
        FILTER (WHERE first_response_at >= %(s)s AND first_response_at < %(e)s) AS first_mean,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY first_response_business_minutes)
        FILTER (WHERE first_response_at >= %(s)s AND first_response_at < %(e)s) AS first_median,
    percentile_cont(0.9) WITHIN GROUP (ORDER BY first_response_business_minutes)
        FILTER (WHERE first_response_at >= %(s)s AND first_response_at < %(e)s) AS first_p90,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY first_response_calendar_minutes)
        FILTER (WHERE first_response_at >= %(s)s AND first_response_at < %(e)s) AS first_cal,
    count(*) FILTER (WHERE solved) AS solved_n,
    avg(resolution_business_minutes) FILTER (WHERE solved) AS resolution_mean,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY resolution_business_minutes)
        FILTER (WHERE solved) AS resolution_median,
    percentile_cont(0.9) WITHIN GROUP (ORDER BY resolution_business_minutes)
        FILTER (WHERE solved) AS resolution_p90,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY resolution_calendar_minutes)
        FILTER (WHERE solved) AS resolution_cal,
    count(*) FILTER (WHERE first_response_due_at >= %(s)s AND first_response_due_at < %(e)s
                     AND sla_first_response_met) AS sla_first_met,
    count(*) FILTER (WHERE first_response_due_at >= %(s)s AND first_response_due_at < %(e)s)
        AS sla_first_due,
    count(*) FILTER (WHERE resolution_due_at >= %(s)s AND resolution_due_at < %(e)s
                     AND sla_resolution_met) AS sla_resolution_met,
    count(*) FILTER (WHERE resolution_due_at >= %(s)s AND resolution_due_at < %(e)s)
        AS sla_resolution_due,
    count(*) FILTER (WHERE solved AND reopen_count > 0) AS reopened,
    count(*) FILTER (WHERE solved AND public_agent_replies < 2) AS one_touch
FROM (
    SELECT *, (last_solved_at >= %(s)s AND last_solved_at < %(e)s
               AND status IN ('solved', 'closed')) AS solved
    FROM support_ticket
    WHERE NOT is_spam AND merged_into_id IS NULL
) t
JOIN customers_customer c ON c.id = t.customer_id
GROUP BY GROUPING SETS ((), (t.team_id), (t.assignee_id), (c.segment_id))
"""

SURVEYS_SQL = """
WITH responses AS (
    SELECT r.kind, r.score, r.customer_id,
        row_number() OVER (PARTITION BY r.customer_id, r.survey_id
                           ORDER BY r.responded_at DESC, r.id DESC) AS latest
    FROM surveys_surveyresponse r
    LEFT JOIN surveys_surveyinvitation i ON i.id = r.invitation_id
    WHERE r.responded_at >= %(s)s AND r.responded_at < %(e)s
      AND (i.id IS NULL OR i.status <> 'undeliverable')
)
SELECT GROUPING(c.segment_id, c.team_id, c.channel_id) AS level,
    c.segment_id, c.team_id, c.channel_id,
    count(*) FILTER (WHERE r.kind = 'csat') AS csat_n,
    count(*) FILTER (WHERE r.kind = 'csat' AND r.score >= 4) AS csat_satisfied,
    avg(r.score) FILTER (WHERE r.kind = 'csat') AS csat_mean,
    count(*) FILTER (WHERE r.kind = 'nps' AND r.latest = 1) AS nps_n,
    count(*) FILTER (WHERE r.kind = 'nps' AND r.latest = 1 AND r.score >= 9) AS promoters,
    count(*) FILTER (WHERE r.kind = 'nps' AND r.latest = 1 AND r.score BETWEEN 7 AND 8) AS passives,
    count(*) FILTER (WHERE r.kind = 'nps' AND r.latest = 1 AND r.score <= 6) AS detractors
FROM responses r
JOIN customers_customer c ON c.id = r.customer_id
GROUP BY GROUPING SETS ((), (c.segment_id), (c.team_id), (c.channel_id))
"""

RESPONSE_RATE_SQL = """
SELECT GROUPING(s.kind, c.team_id) AS level, s.kind, c.team_id,
    count(*) AS sent,
    count(r.id) FILTER (WHERE r.responded_at < i.sent_at + interval '14 days') AS answered
FROM surveys_surveyinvitation i
JOIN surveys_survey s ON s.id = i.survey_id
JOIN customers_customer c ON c.id = i.customer_id
LEFT JOIN surveys_surveyresponse r ON r.invitation_id = i.id
WHERE i.sent_at >= %(s)s AND i.sent_at < %(e)s AND i.status <> 'undeliverable'
GROUP BY GROUPING SETS ((), (s.kind), (c.team_id))
"""

LEADS_SQL = """
SELECT GROUPING(team_id, owner_id, channel_id) AS level, team_id, owner_id, channel_id,
    count(*) AS leads_new,
    count(*) FILTER (WHERE converted_at < created_at + interval '90 days') AS converted
FROM sales_lead
WHERE created_at >= %(s)s AND created_at < %(e)s AND status <> 'merged'
GROUP BY GROUPING SETS ((), (team_id), (owner_id), (channel_id))
"""

PIPELINE_SQL = """
SELECT GROUPING(o.team_id, o.owner_id) AS level, o.team_id, o.owner_id,
    count(*) FILTER (WHERE outcome = 'won' AND closed_at >= %(s)s AND closed_at < %(e)s) AS won,
    count(*) FILTER (WHERE outcome <> 'open' AND closed_at >= %(s)s AND closed_at < %(e)s)
        AS closed,
    sum(amount) FILTER (WHERE created_at < %(e)s AND (closed_at IS NULL OR closed_at >= %(e)s))
        AS pipeline,
    sum(amount * st.probability)
        FILTER (WHERE created_at < %(e)s AND (closed_at IS NULL OR closed_at >= %(e)s))
        AS weighted,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM closed_at - created_at) / 86400)
        FILTER (WHERE outcome = 'won' AND closed_at >= %(s)s AND closed_at < %(e)s) AS cycle_days
FROM sales_opportunity o
JOIN sales_pipelinestage st ON st.id = o.stage_id
GROUP BY GROUPING SETS ((), (o.team_id), (o.owner_id))
"""

ACTIVITIES_SQL = """
SELECT GROUPING(team_id, owner_id) AS level, team_id, owner_id, count(*)
FROM sales_activity
WHERE done_at >= %(s)s AND done_at < %(e)s
GROUP BY GROUPING SETS ((), (team_id), (owner_id))
"""

RETENTION_CASES_SQL = """
SELECT GROUPING(c.team_id, r.owner_id) AS level, c.team_id, r.owner_id,
    count(*) FILTER (WHERE outcome = 'retained') AS retained, count(*) AS closed, sum(cost) AS cost
FROM sales_retentioncase r
JOIN customers_customer c ON c.id = r.customer_id
WHERE r.closed_at >= %(s)s AND r.closed_at < %(e)s
GROUP BY GROUPING SETS ((), (c.team_id), (r.owner_id))
"""


@dataclass
class FloorResult:
    seconds: float
    step_seconds: dict[str, float] = field(default_factory=dict)
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def checks(self) -> dict[str, Decimal | None]:
        """Figures at dimension `all` cross-checked against the engine's snapshots."""
        # GROUPING(...) of the empty set is all bits set: 31 for five columns, 7 for three.
        totals = next(row for row in self.rows["customers"] if row["level"] == 31)
        surveys = next(row for row in self.rows["surveys"] if row["level"] == 7)
        nps_n = surveys["nps_n"]
        nps = (
            (Decimal(surveys["promoters"] - surveys["detractors"]) * 100 / Decimal(nps_n)).quantize(
                Decimal("0.000001")
            )
            if nps_n
            else None
        )
        return {
            "revenue": Decimal(totals["revenue"] or 0).quantize(Decimal("0.01")),
            "orders": Decimal(totals["orders"] or 0),
            "customers_new": Decimal(totals["customers_new"]),
            "nps": nps,
        }


def compute_floor(url: str, month: dt.date, tz_name: str, default_days: int = 90) -> FloorResult:
    """Runs every floor query for `month` in one transaction and times each step."""
    tz = ZoneInfo(tz_name)
    end_day = add_months(month, 1)
    params: dict[str, Any] = {
        "s": local_midnight(month, tz),
        "e": local_midnight(end_day, tz),
        "sd": month,
        "ed": end_day,
        "tz": tz_name,
        "default_days": default_days,
    }
    # Month starts of the 12 trailing months (CLV lifespan); m11 = P.start, m12 = P.end.
    for k in range(CLV_MONTHS + 1):
        params[f"m{k}"] = local_midnight(add_months(end_day, k - CLV_MONTHS), tz)
    steps = [
        ("customers (orders, lines, flags)", customer_base_sql(), None),
        ("customer KPIs (grouping sets)", customer_kpis_sql(), "customers"),
        ("top 20% share", TOP20_SQL, "top20"),
        ("revenue by product line", PRODUCT_LINE_SQL, "product_lines"),
        ("cac / marketing roi", ACQUISITION_SQL, "acquisition"),
        ("tickets", TICKETS_SQL, "tickets"),
        ("survey responses", SURVEYS_SQL, "surveys"),
        ("survey invitations", RESPONSE_RATE_SQL, "response_rate"),
        ("leads", LEADS_SQL, "leads"),
        ("opportunities", PIPELINE_SQL, "pipeline"),
        ("activities", ACTIVITIES_SQL, "activities"),
        ("retention cases", RETENTION_CASES_SQL, "retention_cases"),
    ]
    result = FloorResult(seconds=0.0)
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        for name, sql, key in steps:
            step_started = time.perf_counter()
            cursor = conn.execute(sql, params)
            if key is not None:
                columns = [column.name for column in cursor.description or []]
                result.rows[key] = [dict(zip(columns, row, strict=True)) for row in cursor]
            result.step_seconds[name] = time.perf_counter() - step_started
        conn.rollback()
    result.seconds = time.perf_counter() - started
    return result
