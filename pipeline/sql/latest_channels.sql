-- `latest_channels`: for each channel, the rows of the most recently published report that states
-- it (ties on the date go to the greater report_id), with that report's id, date and period.
CREATE OR REPLACE VIEW latest_channels AS
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
       c.figure_id
FROM channels AS c
JOIN reports AS r USING (report_id)
QUALIFY rank() OVER (PARTITION BY c.channel ORDER BY r.published_on DESC, c.report_id DESC) = 1
ORDER BY c.channel, c.period_start, c.period_end;
