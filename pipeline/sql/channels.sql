-- The `channels` table: one row per report, income channel and period, in whole US dollars.
CREATE OR REPLACE TABLE channels (
    report_id    VARCHAR NOT NULL,
    channel      VARCHAR NOT NULL,
    income_usd   DOUBLE NOT NULL,
    period_start DATE NOT NULL,
    period_end   DATE NOT NULL,
    qualifier    VARCHAR,
    figure_id    VARCHAR NOT NULL
);
INSERT INTO channels
SELECT report_id, subject, amount_usd, period_start, period_end, qualifier, figure_id
FROM figures
WHERE topic = 'channel'
ORDER BY report_id, subject, period_start, period_end;
