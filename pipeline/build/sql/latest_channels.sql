-- `latest_channels`: for each channel and each distinct period that any report states for it, the value
-- of the most recently published report that states that period (ties on the date go to the greater
-- report_id). A new report never hides another report's period: a chain-analysis firm's figures for 2023
-- and 2024 stand beside a UN panel's 2017-2023 figure, each the latest of its period. Periods differ in
-- length, so never sum income_usd across rows; per_year_usd (income_usd / years) compares them.
-- The latest report per channel and period is found first (a max over (published_on, report_id)), then joined.
CREATE OR REPLACE VIEW latest_channels AS
WITH latest AS (
    SELECT c.channel,
           c.period_start,
           c.period_end,
           max({'published_on': r.published_on, 'report_id': c.report_id}).report_id AS report_id
    FROM channels AS c
    JOIN reports AS r USING (report_id)
    GROUP BY c.channel, c.period_start, c.period_end
)
SELECT c.channel,
       c.income_usd,
       c.income_usd_as_published,
       c.period_start,
       c.period_end,
       c.corrected,
       c.correction_basis,
       c.report_id,
       r.published_on,
       r.publisher,
       r.series,
       c.figure_id,
       y.years,
       c.income_usd / y.years AS per_year_usd,
       c.qualifier,
       r.outlet
FROM channels AS c
JOIN latest AS l
  ON l.channel = c.channel AND l.period_start = c.period_start AND l.period_end = c.period_end
 AND l.report_id = c.report_id
JOIN reports AS r ON r.report_id = c.report_id
CROSS JOIN LATERAL (
    SELECT CASE WHEN day(c.period_start) = 1 AND c.period_end = last_day(c.period_end)
                THEN (datediff('month', c.period_start, c.period_end) + 1) / 12.0
                ELSE (datediff('day', c.period_start, c.period_end) + 1) / 365.2425 END AS years
) AS y
ORDER BY c.channel, c.period_start, c.period_end;
