-- `report_changes`: for reports of the same series, each figure that changed from one edition to the next
-- (editions ordered by published_on, then report_id), and each figure that is new in, or dropped from, the
-- later edition. Figures of two editions are matched on topic, subject and measure, and then on period:
--   1. a figure with the figure of the same period (exact match first);
--   2. of the figures left, each with the one whose period overlaps its own the most, when that choice is
--      mutual (the old figure's best overlap is the new figure, and the new figure's is the old one);
--   3. of the figures still left, the only one of its topic, subject and measure in each edition with the
--      other (a yearly series: 2023's figure in one edition, 2024's in the next, is a change of period).
-- So the panel's 3.0e9 for 2017-2023 and its next edition's 3.6e9 for 2017-01..2024-04 are one `changed`
-- row with both periods, even when the next edition also states a sub-period (say 2024-03) of the same
-- channel: that sub-period overlaps 2017-2023 less, and is `new`. Values are as published (amount_usd for
-- money, quantity for counts, share_percent for shares); the best estimates are beside them.
CREATE OR REPLACE TABLE report_changes AS
WITH editions AS (
    SELECT series,
           report_id,
           published_on,
           lag(report_id) OVER (PARTITION BY series ORDER BY published_on, report_id) AS previous_report_id,
           lag(published_on) OVER (PARTITION BY series ORDER BY published_on, report_id) AS previous_published_on
    FROM reports
),
keyed AS (
    SELECT f.report_id,
           f.figure_id,
           f.topic,
           f.subject,
           f.measure,
           coalesce(f.amount_usd, f.quantity::DOUBLE, f.share_percent) AS value,
           coalesce(f.best_amount_usd, f.best_quantity::DOUBLE, f.best_share_percent) AS best_value,
           CASE WHEN f.amount_usd IS NOT NULL THEN 'USD'
                WHEN f.share_percent IS NOT NULL THEN 'percent'
                ELSE 'count' END AS unit,
           f.period_start,
           f.period_end
    FROM figures AS f
),
old_side AS (
    SELECT e.series, e.previous_report_id AS old_report_id, e.report_id AS new_report_id,
           e.previous_published_on AS old_published_on, e.published_on AS new_published_on, k.*
    FROM editions AS e JOIN keyed AS k ON k.report_id = e.previous_report_id
),
new_side AS (
    SELECT e.series, e.previous_report_id AS old_report_id, e.report_id AS new_report_id,
           e.previous_published_on AS old_published_on, e.published_on AS new_published_on, k.*
    FROM editions AS e JOIN keyed AS k ON k.report_id = e.report_id
    WHERE e.previous_report_id IS NOT NULL
),
candidates AS (
    SELECT o.new_report_id,
           o.figure_id AS old_figure_id,
           n.figure_id AS new_figure_id,
           o.period_start = n.period_start AND o.period_end = n.period_end AS exact,
           datediff('day', greatest(o.period_start, n.period_start), least(o.period_end, n.period_end)) + 1 AS overlap_days
    FROM old_side AS o
    JOIN new_side AS n
      ON n.new_report_id = o.new_report_id AND n.topic = o.topic AND n.subject = o.subject AND n.measure = o.measure
     AND o.period_start <= n.period_end AND n.period_start <= o.period_end
),
exact_matches AS (
    SELECT new_report_id, old_figure_id, new_figure_id
    FROM candidates
    WHERE exact
    QUALIFY row_number() OVER (PARTITION BY new_report_id, old_figure_id ORDER BY new_figure_id) = 1
        AND row_number() OVER (PARTITION BY new_report_id, new_figure_id ORDER BY old_figure_id) = 1
),
left_over AS (
    SELECT c.*
    FROM candidates AS c
    ANTI JOIN exact_matches AS m ON m.new_report_id = c.new_report_id AND m.old_figure_id = c.old_figure_id
    ANTI JOIN exact_matches AS k ON k.new_report_id = c.new_report_id AND k.new_figure_id = c.new_figure_id
),
overlap_matches AS (
    SELECT new_report_id, old_figure_id, new_figure_id
    FROM left_over
    QUALIFY row_number() OVER (PARTITION BY new_report_id, old_figure_id ORDER BY overlap_days DESC, new_figure_id) = 1
        AND row_number() OVER (PARTITION BY new_report_id, new_figure_id ORDER BY overlap_days DESC, old_figure_id) = 1
),
first_matches AS (
    SELECT * FROM exact_matches
    UNION ALL
    SELECT * FROM overlap_matches
),
unmatched_old AS (
    SELECT o.new_report_id, o.figure_id, o.topic, o.subject, o.measure,
           count(*) OVER (PARTITION BY o.new_report_id, o.topic, o.subject, o.measure) AS left_of_kind
    FROM old_side AS o
    ANTI JOIN first_matches AS m ON m.new_report_id = o.new_report_id AND m.old_figure_id = o.figure_id
),
unmatched_new AS (
    SELECT n.new_report_id, n.figure_id, n.topic, n.subject, n.measure,
           count(*) OVER (PARTITION BY n.new_report_id, n.topic, n.subject, n.measure) AS left_of_kind
    FROM new_side AS n
    ANTI JOIN first_matches AS m ON m.new_report_id = n.new_report_id AND m.new_figure_id = n.figure_id
),
matches AS (
    SELECT * FROM first_matches
    UNION ALL
    SELECT o.new_report_id, o.figure_id, n.figure_id
    FROM unmatched_old AS o
    JOIN unmatched_new AS n
      ON n.new_report_id = o.new_report_id AND n.topic = o.topic AND n.subject = o.subject AND n.measure = o.measure
    WHERE o.left_of_kind = 1 AND n.left_of_kind = 1
),
old_matched AS (
    SELECT o.*, m.new_figure_id AS partner_figure_id
    FROM old_side AS o
    LEFT JOIN matches AS m ON m.new_report_id = o.new_report_id AND m.old_figure_id = o.figure_id
)
SELECT coalesce(n.series, o.series)                     AS series,
       coalesce(n.old_report_id, o.old_report_id)       AS old_report_id,
       coalesce(n.new_report_id, o.new_report_id)       AS new_report_id,
       coalesce(n.old_published_on, o.old_published_on) AS old_published_on,
       coalesce(n.new_published_on, o.new_published_on) AS new_published_on,
       CASE WHEN o.figure_id IS NULL THEN 'new'
            WHEN n.figure_id IS NULL THEN 'dropped'
            ELSE 'changed' END                          AS change,
       coalesce(n.topic, o.topic)                       AS topic,
       coalesce(n.subject, o.subject)                   AS subject,
       coalesce(n.unit, o.unit)                         AS unit,
       o.value                                          AS old_value,
       n.value                                          AS new_value,
       n.value - o.value                                AS abs_change,
       (n.value - o.value) / nullif(o.value, 0)         AS rel_change,
       o.best_value                                     AS old_best_value,
       n.best_value                                     AS new_best_value,
       o.period_start                                   AS old_period_start,
       o.period_end                                     AS old_period_end,
       n.period_start                                   AS new_period_start,
       n.period_end                                     AS new_period_end,
       o.figure_id                                      AS old_figure_id,
       n.figure_id                                      AS new_figure_id,
       coalesce(n.measure, o.measure)                   AS measure
FROM old_matched AS o
FULL OUTER JOIN new_side AS n
  ON n.new_report_id = o.new_report_id AND n.figure_id = o.partner_figure_id
WHERE o.figure_id IS NULL
   OR n.figure_id IS NULL
   OR o.value IS DISTINCT FROM n.value
   OR o.unit IS DISTINCT FROM n.unit
   OR o.period_start IS DISTINCT FROM n.period_start
   OR o.period_end IS DISTINCT FROM n.period_end
ORDER BY series, new_published_on, new_report_id, topic, subject, change;
