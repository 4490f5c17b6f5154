-- The `reports` table: one row per report folder in raw/. Filled from the validated frame `reports_frame`.
CREATE OR REPLACE TABLE reports (
    report_id          VARCHAR PRIMARY KEY,
    title              VARCHAR NOT NULL,
    publisher          VARCHAR NOT NULL,
    published_on       DATE NOT NULL,
    published_on_basis VARCHAR,
    series             VARCHAR NOT NULL,
    period_start       DATE NOT NULL,
    period_end         DATE NOT NULL,
    period_basis       VARCHAR,
    source_file        VARCHAR NOT NULL,
    source_sha256      VARCHAR NOT NULL,
    source_bytes       BIGINT NOT NULL,
    source_url         VARCHAR,
    notes              VARCHAR,
    outlet             VARCHAR
);
INSERT INTO reports
SELECT report_id, title, publisher, published_on::DATE, published_on_basis, series,
       period_start::DATE, period_end::DATE, period_basis, source_file, source_sha256,
       source_bytes, source_url, notes, outlet
FROM reports_frame
ORDER BY report_id;
