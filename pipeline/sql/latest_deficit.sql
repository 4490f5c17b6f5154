-- `latest_deficit`: the deficit rows of the most recently published report that states a deficit
-- (ties on the date go to the greater report_id).
CREATE OR REPLACE VIEW latest_deficit AS
WITH latest AS (
    SELECT max({'published_on': r.published_on, 'report_id': d.report_id}).report_id AS report_id
    FROM deficit AS d
    JOIN reports AS r USING (report_id)
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
       d.legal_figure_id,
       d.after_figure_id,
       d.total_figure_id
FROM deficit AS d
JOIN latest AS l ON l.report_id = d.report_id
JOIN reports AS r ON r.report_id = d.report_id
ORDER BY d.period_start, d.period_end;
