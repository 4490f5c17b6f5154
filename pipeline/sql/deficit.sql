-- The `deficit` table: one row per report (and period) that states both a legal-trade deficit and
-- the deficit after illicit income. implied_illicit_income_usd is what the two imply; the report's
-- headline total is joined only when it covers the same period (otherwise NULL: comparing totals of
-- different periods would mislead).
CREATE OR REPLACE TABLE deficit (
    report_id                   VARCHAR NOT NULL,
    period_start                DATE NOT NULL,
    period_end                  DATE NOT NULL,
    legal_trade_deficit_usd     DOUBLE NOT NULL,
    deficit_after_illicit_usd   DOUBLE NOT NULL,
    implied_illicit_income_usd  DOUBLE NOT NULL,
    reported_illicit_income_usd DOUBLE,
    legal_figure_id             VARCHAR NOT NULL,
    after_figure_id             VARCHAR NOT NULL,
    total_figure_id             VARCHAR
);
INSERT INTO deficit
SELECT legal.report_id,
       legal.period_start,
       legal.period_end,
       legal.amount_usd,
       after_.amount_usd,
       legal.amount_usd - after_.amount_usd,
       total.amount_usd,
       legal.figure_id,
       after_.figure_id,
       total.figure_id
FROM figures AS legal
JOIN figures AS after_
  ON after_.report_id = legal.report_id
 AND after_.topic = 'trade' AND after_.subject = 'deficit_after_illicit_income'
 AND after_.period_start = legal.period_start AND after_.period_end = legal.period_end
LEFT JOIN figures AS total
  ON total.report_id = legal.report_id
 AND total.topic = 'total'
 AND total.period_start = legal.period_start AND total.period_end = legal.period_end
WHERE legal.topic = 'trade' AND legal.subject = 'legal_trade_deficit'
ORDER BY legal.report_id, legal.period_start;
