-- `latest_arms`: for each item and each distinct period that any report states for it, the count of the
-- most recently published report that states that period (ties on the date go to the greater report_id).
-- The latest report per item and period is found first (a max over (published_on, report_id)), then joined.
CREATE OR REPLACE VIEW latest_arms AS
WITH latest AS (
    SELECT a.item,
           a.period_start,
           a.period_end,
           max({'published_on': r.published_on, 'report_id': a.report_id}).report_id AS report_id
    FROM arms AS a
    JOIN reports AS r USING (report_id)
    GROUP BY a.item, a.period_start, a.period_end
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
       a.figure_id,
       r.outlet
FROM arms AS a
JOIN latest AS l
  ON l.item = a.item AND l.period_start = a.period_start AND l.period_end = a.period_end AND l.report_id = a.report_id
JOIN reports AS r ON r.report_id = a.report_id
ORDER BY a.item_type, a.item, a.period_start;
