-- What each report's comparisons with other sources say, for the check `sources_agree` (pipeline.build.cross_checks),
-- in one pass over source_comparisons: how many pairs the report is the later report of, how many of them
-- disagree (on the best estimates and as published), and the 3 furthest apart of those (when none
-- disagrees, the 3 closest) to name in its message. A pair is a struct of the fields the message needs,
-- ordered by (factor, other report, figures), so that the same warehouse always gives the same message.
-- pipeline.build.cross_checks replaces `/* reports */ true` with the reports whose rows it writes.
SELECT report_id,
       count(*) AS compared,
       count(*) FILTER (WHERE NOT agree) AS apart,
       count(*) FILTER (WHERE NOT agree_as_published) AS apart_as_published,
       max_by(pair, struct_pack(factor, other_report_id, figure_id, other_figure_id), 3)
           FILTER (WHERE NOT agree) AS furthest,
       max_by(pair, struct_pack(factor_as_published, other_report_id, figure_id, other_figure_id), 3)
           FILTER (WHERE NOT agree_as_published) AS furthest_as_published,
       min_by(pair, struct_pack(factor, other_report_id, figure_id, other_figure_id), 3) AS closest,
       min_by(pair, struct_pack(factor_as_published, other_report_id, figure_id, other_figure_id), 3)
           AS closest_as_published
FROM (
    SELECT *,
           struct_pack(channel, measure, unit, basis, period_start, period_end, other_period_start, other_period_end,
                       years, other_years, qualifier, other_qualifier, report_id, other_report_id,
                       value, other_value, compared_value, other_compared_value, factor,
                       value_as_published, other_value_as_published, compared_value_as_published,
                       other_compared_value_as_published, factor_as_published) AS pair
    FROM source_comparisons
    WHERE /* reports */ true
)
GROUP BY report_id
ORDER BY report_id;
