-- The `figures` table: one row per figure as its report states it, with the quote that states it.
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
    PRIMARY KEY (report_id, figure_id)
);
INSERT INTO figures
SELECT report_id, figure_id, topic, subject, item_type, value_as_published, unit_as_published,
       value_text, qualifier, amount_usd, quantity, period_start::DATE, period_end::DATE,
       period_inherited, quote
FROM figures_frame
ORDER BY report_id, figure_id;
