-- `latest_arms`: for each item, the rows of the most recently published report that states it.
CREATE OR REPLACE VIEW latest_arms AS
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
JOIN reports AS r USING (report_id)
QUALIFY rank() OVER (PARTITION BY a.item ORDER BY r.published_on DESC, a.report_id DESC) = 1
ORDER BY a.item_type, a.item, a.period_start;
