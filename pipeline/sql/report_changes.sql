-- `report_changes`: for reports of the same series, each figure that changed from one edition to
-- the next (editions ordered by published_on, then report_id), and each figure that is new in, or
-- dropped from, the later edition. Figures are matched on topic and subject; where a report states
-- one subject for several periods, the period is part of the match too. Values are as published
-- (amount_usd for money, quantity for counts); the best estimates are beside them.
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
           CASE WHEN count(*) OVER (PARTITION BY f.report_id, f.topic, f.subject) > 1
                THEN f.topic || '/' || f.subject || '/' || f.period_start || '/' || f.period_end
                ELSE f.topic || '/' || f.subject END AS match_key,
           coalesce(f.amount_usd, f.quantity::DOUBLE) AS value,
           coalesce(f.best_amount_usd, f.best_quantity::DOUBLE) AS best_value,
           CASE WHEN f.quantity IS NULL THEN 'USD' ELSE 'count' END AS unit,
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
       n.figure_id                                      AS new_figure_id
FROM old_side AS o
FULL OUTER JOIN new_side AS n
  ON n.new_report_id = o.new_report_id AND n.match_key = o.match_key
WHERE o.figure_id IS NULL
   OR n.figure_id IS NULL
   OR o.value IS DISTINCT FROM n.value
   OR o.unit IS DISTINCT FROM n.unit
   OR o.period_start IS DISTINCT FROM n.period_start
   OR o.period_end IS DISTINCT FROM n.period_end
ORDER BY series, new_published_on, new_report_id, topic, subject, change;
