-- `estimates`: one row per figure about a channel or the total, from every report: the one place to
-- compare sources. `channel` is the channel's name, or 'total' for the report's headline total
-- (illicit_income). `measure` says what the value is and `unit` its unit: income (USD over the period),
-- income_per_year (USD per year, a rate), event (USD of one event), incidents and people (count), share
-- (percent). `value` is the best estimate (the correction where there is one), `value_as_published`
-- what the report says. `years` is the length of the period: whole months / 12 when the period runs
-- from the first of a month to the last of a month (2017-01-01..2023-12-31 is 7), else days / 365.2425.
-- `per_year_average` is value / years for measures that flow over a period (income, incidents); a rate,
-- a count of people, a share or a single event has none (they are never averaged or summed).
CREATE OR REPLACE VIEW estimates AS
WITH sized AS (
    SELECT f.*,
           CASE WHEN day(f.period_start) = 1 AND f.period_end = last_day(f.period_end)
                THEN (datediff('month', f.period_start, f.period_end) + 1) / 12.0
                ELSE (datediff('day', f.period_start, f.period_end) + 1) / 365.2425 END AS years
    FROM figures AS f
    WHERE f.topic IN ('channel', 'total')
)
SELECT f.report_id,
       f.figure_id,
       r.series,
       r.publisher,
       r.outlet,
       r.published_on,
       CASE WHEN f.topic = 'total' THEN 'total' ELSE f.subject END                 AS channel,
       f.measure,
       CASE WHEN f.measure = 'income_per_year' THEN 'USD per year'
            WHEN f.amount_usd IS NOT NULL THEN 'USD'
            WHEN f.share_percent IS NOT NULL THEN 'percent'
            ELSE 'count' END                                                        AS unit,
       f.period_start,
       f.period_end,
       f.years,
       coalesce(f.best_amount_usd, f.best_quantity::DOUBLE, f.best_share_percent)  AS value,
       coalesce(f.amount_usd, f.quantity::DOUBLE, f.share_percent)                 AS value_as_published,
       CASE WHEN f.measure IN ('income', 'incidents')
            THEN coalesce(f.best_amount_usd, f.best_quantity::DOUBLE) / f.years END AS per_year_average,
       CASE WHEN f.measure IN ('income', 'incidents')
            THEN coalesce(f.amount_usd, f.quantity::DOUBLE) / f.years END          AS per_year_average_as_published,
       f.qualifier,
       f.bound,
       f.corrected,
       f.correction_basis,
       f.period_inherited,
       f.value_text,
       f.quote
FROM sized AS f
JOIN reports AS r USING (report_id)
ORDER BY channel, measure, f.period_start, f.period_end, r.published_on, f.report_id, f.figure_id;
