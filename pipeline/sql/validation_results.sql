-- The `validation_results` table: one row per check, report and value basis. Filled from the
-- frame `validation_frame` that pipeline.report_checks computes.
CREATE OR REPLACE TABLE validation_results (
    report_id   VARCHAR NOT NULL,
    check_name  VARCHAR NOT NULL,
    severity    VARCHAR NOT NULL,
    value_basis VARCHAR NOT NULL,
    passed      BOOLEAN NOT NULL,
    message     VARCHAR NOT NULL,
    PRIMARY KEY (report_id, check_name, value_basis)
);
INSERT INTO validation_results
SELECT report_id, check_name, severity, value_basis, passed, message
FROM validation_frame
ORDER BY report_id, check_name, value_basis;
