-- The `channels` table: one row per report, income channel and period, in whole US dollars: the
-- channel figures that measure income over their period (counts, shares, rates and single events are
-- in `estimates`, never here, so that summing income_usd never adds a count or a rate).
-- income_usd is the best estimate (the correction where there is one); income_usd_as_published is
-- what the report says.
CREATE OR REPLACE TABLE channels (
    report_id               VARCHAR NOT NULL,
    channel                 VARCHAR NOT NULL,
    income_usd              DOUBLE NOT NULL,
    period_start            DATE NOT NULL,
    period_end              DATE NOT NULL,
    income_usd_as_published DOUBLE NOT NULL,
    corrected               BOOLEAN NOT NULL,
    correction_basis        VARCHAR,
    qualifier               VARCHAR,
    figure_id               VARCHAR NOT NULL
);
INSERT INTO channels
SELECT report_id, subject, best_amount_usd, period_start, period_end, amount_usd, corrected,
       correction_basis, qualifier, figure_id
FROM figures
WHERE topic = 'channel' AND measure = 'income'
ORDER BY report_id, subject, period_start, period_end, figure_id;
