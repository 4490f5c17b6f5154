-- `latest_channels`: for each channel, the rows of the most recently published report that states
-- it (ties on the date go to the greater report_id), with that report's id, date and period. The
-- latest report per channel is found first (a max over (published_on, report_id)), then joined.
CREATE OR REPLACE VIEW latest_channels AS
WITH latest AS (
    SELECT c.channel,
           max({'published_on': r.published_on, 'report_id': c.report_id}).report_id AS report_id
    FROM channels AS c
    JOIN reports AS r USING (report_id)
    GROUP BY c.channel
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
       c.figure_id
FROM channels AS c
JOIN latest AS l ON l.channel = c.channel AND l.report_id = c.report_id
JOIN reports AS r ON r.report_id = c.report_id
ORDER BY c.channel, c.period_start, c.period_end;
