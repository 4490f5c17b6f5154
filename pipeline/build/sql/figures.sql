-- The `figures` table: one row per figure as its report states it, with the quote that states it,
-- and, where a person recorded one, its correction with basis and citation (best_* columns).
-- measure says what the value is (income over the period, a yearly rate, one event, a count of incidents
-- or people, a share); money is in amount_usd, counts in quantity, shares in share_percent.
CREATE OR REPLACE TABLE figures (
    report_id          VARCHAR NOT NULL,
    figure_id          VARCHAR NOT NULL,
    topic              VARCHAR NOT NULL,
    subject            VARCHAR NOT NULL,
    item_type          VARCHAR,
    value_as_published DOUBLE NOT NULL,
    unit_as_published  VARCHAR NOT NULL,
    value_text         VARCHAR NOT NULL,
    qualifier          VARCHAR,
    amount_usd         DOUBLE,
    quantity           BIGINT,
    period_start       DATE NOT NULL,
    period_end         DATE NOT NULL,
    period_inherited   BOOLEAN NOT NULL,
    quote              VARCHAR NOT NULL,
    best_amount_usd    DOUBLE,
    best_quantity      BIGINT,
    corrected          BOOLEAN NOT NULL,
    correction_basis   VARCHAR,
    correction_value   DOUBLE,
    correction_unit    VARCHAR,
    correction_value_text VARCHAR,
    correction_note    VARCHAR,
    correction_reasoning VARCHAR,
    cited_publisher    VARCHAR,
    cited_title        VARCHAR,
    cited_date         DATE,
    cited_url          VARCHAR,
    correction_evidence_file VARCHAR,
    correction_evidence_quote VARCHAR,
    measure            VARCHAR NOT NULL,
    bound              VARCHAR,
    share_percent      DOUBLE,
    best_share_percent DOUBLE,
    PRIMARY KEY (report_id, figure_id)
);
INSERT INTO figures
SELECT report_id, figure_id, topic, subject, item_type, value_as_published, unit_as_published,
       value_text, qualifier, amount_usd, quantity, period_start::DATE, period_end::DATE,
       period_inherited, quote, best_amount_usd, best_quantity, corrected, correction_basis,
       correction_value, correction_unit, correction_value_text, correction_note, correction_reasoning,
       cited_publisher, cited_title, cited_date::DATE, cited_url, correction_evidence_file,
       correction_evidence_quote, measure, bound, share_percent, best_share_percent
FROM figures_frame
ORDER BY report_id, figure_id;
