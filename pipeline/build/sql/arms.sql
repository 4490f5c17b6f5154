-- The `arms` table: one row per report, item shipped and period (counts; the income from arms
-- sales is the `arms_exports` channel in `channels`). quantity is the best estimate.
CREATE OR REPLACE TABLE arms (
    report_id             VARCHAR NOT NULL,
    item                  VARCHAR NOT NULL,
    item_type             VARCHAR NOT NULL,
    quantity              BIGINT NOT NULL,
    period_start          DATE NOT NULL,
    period_end            DATE NOT NULL,
    quantity_as_published BIGINT NOT NULL,
    corrected             BOOLEAN NOT NULL,
    correction_basis      VARCHAR,
    qualifier             VARCHAR,
    figure_id             VARCHAR NOT NULL
);
INSERT INTO arms
SELECT report_id, subject, item_type, best_quantity, period_start, period_end, quantity, corrected,
       correction_basis, qualifier, figure_id
FROM figures
WHERE topic = 'arms'
ORDER BY report_id, item_type, subject, period_start;
