-- `latest_deficit`: for each distinct period that any report states a trade deficit for, the deficit row
-- of the most recently published report that states that period (ties on the date go to the greater
-- report_id).
CREATE OR REPLACE VIEW latest_deficit AS
WITH latest AS (
    SELECT d.period_start,
           d.period_end,
           max({'published_on': r.published_on, 'report_id': d.report_id}).report_id AS report_id
    FROM deficit AS d
    JOIN reports AS r USING (report_id)
    GROUP BY d.period_start, d.period_end
)
SELECT d.period_start,
       d.period_end,
       d.legal_trade_deficit_usd,
       d.deficit_after_illicit_usd,
       d.implied_illicit_income_usd,
       d.reported_illicit_income_usd,
       d.legal_trade_deficit_usd_as_published,
       d.deficit_after_illicit_usd_as_published,
       d.corrected,
       d.report_id,
       r.published_on,
       r.publisher,
       r.series,
       r.outlet,
       d.legal_figure_id,
       d.after_figure_id,
       d.total_figure_id
FROM deficit AS d
JOIN latest AS l ON l.period_start = d.period_start AND l.period_end = d.period_end AND l.report_id = d.report_id
JOIN reports AS r ON r.report_id = d.report_id
ORDER BY d.period_start, d.period_end;
