-- `latest_arms`: for each item, the rows of the most recently published report that states it (ties
-- on the date go to the greater report_id). The latest report per item is found first (a max over
-- (published_on, report_id)), then joined: a quarter of the time of ranking every row with a window.
CREATE OR REPLACE VIEW latest_arms AS
WITH latest AS (
    SELECT a.item,
           max({'published_on': r.published_on, 'report_id': a.report_id}).report_id AS report_id
    FROM arms AS a
    JOIN reports AS r USING (report_id)
    GROUP BY a.item
)
SELECT a.item,
       a.item_type,
       a.quantity,
       a.quantity_as_published,
       a.period_start,
       a.period_end,
       a.corrected,
       a.report_id,
       r.published_on,
       r.publisher,
       r.series,
       a.figure_id
FROM arms AS a
JOIN latest AS l ON l.item = a.item AND l.report_id = a.report_id
JOIN reports AS r ON r.report_id = a.report_id
ORDER BY a.item_type, a.item, a.period_start;
