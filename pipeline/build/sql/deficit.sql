-- The `deficit` table: one row per report (and period) that states both a legal-trade deficit and
-- the deficit after illicit income. The contract's four *_usd columns hold best estimates (the
-- correction where there is one); the *_as_published columns hold what the report says.
-- The report's headline total is joined only when it covers the same period (otherwise NULL:
-- comparing totals of different periods would mislead).
CREATE OR REPLACE TABLE deficit (
    report_id                                VARCHAR NOT NULL,
    period_start                             DATE NOT NULL,
    period_end                               DATE NOT NULL,
    legal_trade_deficit_usd                  DOUBLE NOT NULL,
    deficit_after_illicit_usd                DOUBLE NOT NULL,
    implied_illicit_income_usd               DOUBLE NOT NULL,
    reported_illicit_income_usd              DOUBLE,
    legal_trade_deficit_usd_as_published     DOUBLE NOT NULL,
    deficit_after_illicit_usd_as_published   DOUBLE NOT NULL,
    implied_illicit_income_usd_as_published  DOUBLE NOT NULL,
    reported_illicit_income_usd_as_published DOUBLE,
    corrected                                BOOLEAN NOT NULL,
    legal_figure_id                          VARCHAR NOT NULL,
    after_figure_id                          VARCHAR NOT NULL,
    total_figure_id                          VARCHAR
);
INSERT INTO deficit
SELECT legal.report_id,
       legal.period_start,
       legal.period_end,
       legal.best_amount_usd,
       after_.best_amount_usd,
       legal.best_amount_usd - after_.best_amount_usd,
       total.best_amount_usd,
       legal.amount_usd,
       after_.amount_usd,
       legal.amount_usd - after_.amount_usd,
       total.amount_usd,
       legal.corrected OR after_.corrected OR coalesce(total.corrected, false),
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
 AND total.topic = 'total' AND total.measure = 'income'
 AND total.period_start = legal.period_start AND total.period_end = legal.period_end
WHERE legal.topic = 'trade' AND legal.subject = 'legal_trade_deficit'
ORDER BY legal.report_id, legal.period_start, legal.period_end, legal.figure_id, after_.figure_id, total.figure_id;
