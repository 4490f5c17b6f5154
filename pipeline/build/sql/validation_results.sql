-- The `validation_results` table: one row per check, report and value basis. Filled from the
-- frame `validation_frame` that pipeline.validate.report_checks computes. status is passed, failed or
-- not_compared; passed is NULL when nothing was compared (so `where not passed` lists failures only).
CREATE OR REPLACE TABLE validation_results (
    report_id   VARCHAR NOT NULL,
    check_name  VARCHAR NOT NULL,
    severity    VARCHAR NOT NULL,
    value_basis VARCHAR NOT NULL,
    passed      BOOLEAN,
    status      VARCHAR NOT NULL CHECK (status IN ('passed', 'failed', 'not_compared')
                                        AND status = CASE passed WHEN true THEN 'passed' WHEN false THEN 'failed'
                                                                 ELSE 'not_compared' END),
    message     VARCHAR NOT NULL,
    PRIMARY KEY (report_id, check_name, value_basis)
);
INSERT INTO validation_results
SELECT report_id, check_name, severity, value_basis, passed, status, message
FROM validation_frame
ORDER BY report_id, check_name, value_basis;
