-- The rows of the table `source_comparisons`: every pair of estimates of the same channel (or the total) and measure from two
-- different series whose periods are comparable, one row per pair, on the later report (published_on,
-- then report_id). An estimate is superseded, and compared no more, when a later report of its own series
-- states the same channel and measure for a period that overlaps at least half of the longer of the two
-- (a revision of the same figure: report_changes shows what it changed); a year-end series' figures for
-- other years stay. So the pairs grow with the square of the number of series that estimate a channel for
-- a period, not with the number of editions.
--
-- Comparable periods (`basis`):
--   same_period          the two periods are equal: the values are compared;
--   per_year_average     income or incidents (quantities that flow over a period) over different periods
--                        that overlap by at least half of the longer one: the per-year averages are
--                        compared (3.0e9 over 2017-2023 against 3.6e9 over 2017-01..2024-04);
--   overlapping_periods  a rate, a count of people or a share (levels, never averaged) over different
--                        periods that overlap by at least half of the longer one: the values are compared.
-- A single event is compared only with an event of the same period. A one-year figure is not compared
-- with a seven-year one (they overlap by a seventh): that is a part of a whole, not another estimate of it.
--
-- `ratio` is this report's compared value over the other's (best estimates; `ratio_as_published` on the
-- values as published). `factor` is how far apart the two are, at least 1, respecting bounds: a lower bound
-- ("more than 3e9") is the range [3e9, inf), an upper bound ("up to 1e9") [0, 1e9], any other value the
-- point; the factor is the gap between the two ranges (1 when they meet). Two sources agree when their
-- factor is at most 1.5 (reports round and hedge; estimates of one thing 1.5x apart are a finding).
-- The warn check `sources_agree` in validation_results reports every pair that does not agree.
--
-- A table, not a view: the pairs grow with the square of the number of series, and a refresh, its checks,
-- its previews and every analyst's query would each evaluate a view again. The rows of a pair depend only
-- on the two series' estimates (an estimate is superseded only by its own series), so this query computes
-- the pairs that touch a series in the temporary table `_comparison_series`: every series when the table is
-- built from nothing, the series of the changed reports when a refresh replaces only their rows
-- (pipeline.build.tables). Its rows are in no particular order: ORDER BY what you need.
WITH latest AS (
    SELECT e.*
    FROM estimates AS e
    ANTI JOIN estimates AS revised
      ON revised.series = e.series AND revised.channel = e.channel AND revised.measure = e.measure
     AND (revised.published_on > e.published_on OR (revised.published_on = e.published_on AND revised.report_id > e.report_id))
     AND revised.period_start <= e.period_end AND e.period_start <= revised.period_end
     AND (datediff('day', greatest(revised.period_start, e.period_start), least(revised.period_end, e.period_end)) + 1) * 2
         >= greatest(datediff('day', revised.period_start, revised.period_end), datediff('day', e.period_start, e.period_end)) + 1
),
touched AS (
    SELECT * FROM latest WHERE series IN (SELECT series FROM _comparison_series)
),
pairs AS (
    SELECT a.channel,
           a.measure,
           a.unit,
           CASE WHEN a.period_start = b.period_start AND a.period_end = b.period_end THEN 'same_period'
                WHEN a.measure IN ('income', 'incidents') THEN 'per_year_average'
                ELSE 'overlapping_periods' END AS basis,
           (datediff('day', greatest(a.period_start, b.period_start), least(a.period_end, b.period_end)) + 1)
             / greatest(datediff('day', a.period_start, a.period_end) + 1,
                        datediff('day', b.period_start, b.period_end) + 1) AS overlap_share,
           a.report_id, a.series, a.publisher, a.outlet, a.published_on, a.figure_id, a.period_start, a.period_end,
           a.years, a.value, a.value_as_published, a.qualifier, a.bound, a.per_year_average,
           a.per_year_average_as_published,
           b.report_id AS other_report_id, b.series AS other_series, b.publisher AS other_publisher,
           b.outlet AS other_outlet, b.published_on AS other_published_on, b.figure_id AS other_figure_id,
           b.period_start AS other_period_start, b.period_end AS other_period_end, b.years AS other_years,
           b.value AS other_value, b.value_as_published AS other_value_as_published,
           b.qualifier AS other_qualifier, b.bound AS other_bound, b.per_year_average AS other_per_year_average,
           b.per_year_average_as_published AS other_per_year_average_as_published
    -- the pairs whose later estimate is of a touched series (side 'later'), and those whose earlier one is
    -- while the later is not (side 'earlier'): each pair once, and only those that touch the series
    FROM (SELECT 'later' AS side, * FROM touched UNION ALL
          SELECT 'earlier', * FROM latest WHERE series NOT IN (SELECT series FROM _comparison_series)) AS a
    JOIN (SELECT 'later' AS side, * FROM latest UNION ALL SELECT 'earlier', * FROM touched) AS b
      ON a.side = b.side AND a.channel = b.channel AND a.measure = b.measure AND a.series <> b.series
     AND (a.published_on > b.published_on OR (a.published_on = b.published_on AND a.report_id > b.report_id))
     AND a.period_start <= b.period_end AND b.period_start <= a.period_end
),
compared AS (
    SELECT *,
           CASE WHEN basis = 'per_year_average' THEN per_year_average ELSE value END                  AS compared_value,
           CASE WHEN basis = 'per_year_average' THEN other_per_year_average ELSE other_value END      AS other_compared_value,
           CASE WHEN basis = 'per_year_average' THEN per_year_average_as_published
                ELSE value_as_published END                                                           AS compared_value_as_published,
           CASE WHEN basis = 'per_year_average' THEN other_per_year_average_as_published
                ELSE other_value_as_published END                                                     AS other_compared_value_as_published
    FROM pairs
    WHERE basis = 'same_period' OR (measure <> 'event' AND overlap_share >= 0.5)
),
ranged AS (
    SELECT *,
           CASE WHEN bound = 'upper' THEN 0 ELSE compared_value END                                   AS low,
           CASE WHEN bound = 'lower' THEN 'inf'::DOUBLE ELSE compared_value END                       AS high,
           CASE WHEN other_bound = 'upper' THEN 0 ELSE other_compared_value END                       AS other_low,
           CASE WHEN other_bound = 'lower' THEN 'inf'::DOUBLE ELSE other_compared_value END           AS other_high,
           CASE WHEN bound = 'upper' THEN 0 ELSE compared_value_as_published END                      AS low_p,
           CASE WHEN bound = 'lower' THEN 'inf'::DOUBLE ELSE compared_value_as_published END          AS high_p,
           CASE WHEN other_bound = 'upper' THEN 0 ELSE other_compared_value_as_published END          AS other_low_p,
           CASE WHEN other_bound = 'lower' THEN 'inf'::DOUBLE ELSE other_compared_value_as_published END AS other_high_p
    FROM compared
),
factored AS (
    SELECT *,
           CASE WHEN greatest(low, other_low) <= least(high, other_high) THEN 1.0
                WHEN least(high, other_high) = 0 THEN 'inf'::DOUBLE
                ELSE greatest(low, other_low) / least(high, other_high) END                             AS factor,
           CASE WHEN greatest(low_p, other_low_p) <= least(high_p, other_high_p) THEN 1.0
                WHEN least(high_p, other_high_p) = 0 THEN 'inf'::DOUBLE
                ELSE greatest(low_p, other_low_p) / least(high_p, other_high_p) END                     AS factor_as_published
    FROM ranged
)
SELECT channel, measure, unit, basis, overlap_share,
       report_id, series, publisher, outlet, published_on, figure_id, period_start, period_end, years,
       qualifier, bound, value, value_as_published,
       other_report_id, other_series, other_publisher, other_outlet, other_published_on, other_figure_id,
       other_period_start, other_period_end, other_years, other_qualifier, other_bound, other_value,
       other_value_as_published,
       compared_value, other_compared_value, compared_value_as_published, other_compared_value_as_published,
       compared_value / nullif(other_compared_value, 0)                          AS ratio,
       compared_value_as_published / nullif(other_compared_value_as_published, 0) AS ratio_as_published,
       factor,
       factor_as_published,
       factor <= 1.5                                                             AS agree,
       factor_as_published <= 1.5                                                AS agree_as_published
FROM factored;
