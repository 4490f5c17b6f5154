-- `latest_deficit`: the deficit rows of the most recently published report that states a deficit.
CREATE OR REPLACE VIEW latest_deficit AS
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
       r.series
FROM deficit AS d
JOIN reports AS r USING (report_id)
QUALIFY rank() OVER (ORDER BY r.published_on DESC, d.report_id DESC) = 1
ORDER BY d.period_start, d.period_end;
