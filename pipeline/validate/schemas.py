"""pandera models: one per frame the pipeline loads and per table the warehouse publishes.

The models are the documentation: every column has a description, and the Dagster UI shows
them as each asset's column schema (see `column_schema`). Validation is always lazy, so one run
reports every failure at once (see `pipeline.validate.validation`).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing.pandas import Series

from pipeline.core import vocabulary as v

MONEY_UNITS = list(v.MONEY_UNITS)


def _passing_as_one(check: Callable) -> Callable:
    """A dataframe check that answers True when every row passes, else returns its rows as they are.

    After a dataframe check returns rows, pandera computes isna() of the whole frame so that a row missing in
    every cell passes (ignore_na): for the figures' nine checks, half the time of validating them. A row that
    passes needs no exemption, so when every row passes the check answers True, which pandera takes as the
    verdict; when some row fails, pandera gets the rows and reports exactly what it reported before.
    """

    @functools.wraps(check)
    def passing_as_one(cls: type, df: pd.DataFrame) -> Any:
        rows = check(cls, df)
        return True if rows.all() else rows

    return passing_as_one


def _str_matches_by_value(series: pd.Series, pattern: str) -> pd.Series:
    """series.str.fullmatch(pattern, na=False), with each distinct text matched once: pandas matches text
    row by row, and 162k figures hold 5,000 report ids. A full match, not the built-in's str.match: with
    str.match, "$" matches before a trailing newline, and "an-id\n" passed as a slug."""
    if not isinstance(series.dtype, pd.StringDtype):
        return series.str.fullmatch(pattern, na=False)
    codes, distinct = pd.factorize(series.array)  # a missing value gets code -1
    matched = pd.Series(distinct).str.fullmatch(pattern, na=False)
    values = np.append(matched.to_numpy(dtype=bool), False)[codes]  # code -1 takes the appended False
    return pd.Series(values, index=series.index, name=series.name).astype(matched.dtype)


def _field(**kwargs: Any) -> Any:
    """pa.Field, its str_matches check computed by _str_matches_by_value. The check keeps the built-in's
    name, error text and statistics, so a failure reads as before and the Dagster column schema is unchanged."""
    info = pa.Field(**kwargs)
    info.checks = [pa.Check(_str_matches_by_value, ignore_na=c.ignore_na, native=c.native, name=c.name, error=c.error,
                            raise_warning=c.raise_warning, n_failure_cases=c.n_failure_cases, title=c.title,
                            description=c.description, statistics=c.statistics, strategy=c.strategy,
                            constraint=c.constraint, determined_by_unique=c.determined_by_unique,
                            pattern=c.statistics["pattern"])
                   if c.name == "str_matches" else c for c in info.checks]
    return info


def _pairs_by_value(rule: Callable[[Any, Any], bool], first: pd.Series, second: pd.Series) -> pd.Series | None:
    """pd.Series([rule(a, b) for a, b in zip(first, second)], index=first.index), with the rule applied once per
    distinct pair of values that occurs; None unless both columns are text (whose missing value is always pd.NA,
    given to the rule as it is)."""
    if not (isinstance(first.dtype, pd.StringDtype) and isinstance(second.dtype, pd.StringDtype)):
        return None
    first_codes, first_values = pd.factorize(first.array, use_na_sentinel=False)
    second_codes, second_values = pd.factorize(second.array, use_na_sentinel=False)
    first_values, second_values = first_values.tolist(), second_values.tolist()
    results = np.zeros((len(first_values), len(second_values)), dtype=bool)
    occurs = np.zeros_like(results)
    occurs[first_codes, second_codes] = True
    for i, j in np.argwhere(occurs).tolist():
        results[i, j] = rule(first_values[i], second_values[j])
    values = results[first_codes, second_codes]
    # as pd.Series of the rule's list would be: bool, or object when there are no rows
    return pd.Series(values if len(values) else [], index=first.index)


def _unit_fits_measure(measure: object, unit: object) -> bool:
    # An unknown measure or unit is reported by its own column check, with the accepted list.
    kind = v.MEASURE_UNIT_KIND.get(measure) if isinstance(measure, str) else None
    return kind is None or unit not in v.UNITS or v.unit_kind(unit) == kind


def _measure_fits_topic(topic: object, measure: object) -> bool:
    allowed = v.TOPIC_MEASURES.get(topic) if isinstance(topic, str) else None
    return allowed is None or measure not in v.MEASURES or measure in allowed


class ReportSchema(pa.DataFrameModel):
    """One row per report folder in raw/ (the `reports` table)."""

    report_id: Series[pd.StringDtype] = _field(
        str_matches=v.SLUG_PATTERN, unique=True,
        description="The report's folder name in raw/: a unique slug of [a-z0-9-].")
    title: Series[pd.StringDtype] = pa.Field(str_length={"min_value": 1}, description="Title of the report or article.")
    publisher: Series[pd.StringDtype] = pa.Field(
        str_length={"min_value": 1},
        description="The body that made the estimate (think tank, UN panel, chain-analysis firm, agency).")
    published_on: Series[pd.Timestamp] = pa.Field(description="Date the document was published.")
    published_on_basis: Series[pd.StringDtype] = pa.Field(
        nullable=True, description="Where the publication date came from when the document does not state it whole.")
    series: Series[pd.StringDtype] = _field(
        str_matches=v.SLUG_PATTERN, description="Slug of the series this report is an edition of.")
    period_start: Series[pd.Timestamp] = pa.Field(description="First day of the period the report covers.")
    period_end: Series[pd.Timestamp] = pa.Field(description="Last day (inclusive) of the period the report covers.")
    period_basis: Series[pd.StringDtype] = pa.Field(nullable=True, description="How the report's period was read from the text.")
    source_file: Series[pd.StringDtype] = pa.Field(description="The stored document, relative to the report folder.")
    source_sha256: Series[pd.StringDtype] = _field(
        str_matches=r"^[0-9a-f]{64}$", description="sha256 of the stored document, verified at every load.")
    source_bytes: Series[int] = pa.Field(gt=0, description="Size of the stored document in bytes.")
    source_url: Series[pd.StringDtype] = pa.Field(nullable=True, description="Address of the document, where there is one.")
    notes: Series[pd.StringDtype] = pa.Field(nullable=True, description="Anything a reader of the figures should know.")
    outlet: Series[pd.StringDtype] = pa.Field(
        nullable=True, description="The outlet that published the stored document (a wire service, a newspaper), "
                                   "where it is not the publisher; NULL otherwise.")

    @pa.dataframe_check(description="period_start <= period_end")
    @_passing_as_one
    def period_ordered(cls, df: pd.DataFrame) -> Series[bool]:
        return df["period_start"] <= df["period_end"]

    @pa.dataframe_check(description="period within the plausible range of years")
    @_passing_as_one
    def period_plausible(cls, df: pd.DataFrame) -> Series[bool]:
        return (df["period_start"].dt.year >= v.EARLIEST_PERIOD_YEAR) & (
            df["period_end"].dt.year <= v.LATEST_PERIOD_YEAR)

    class Config:
        strict = True
        coerce = True


class FigureSchema(pa.DataFrameModel):
    """One row per figure as the report states it (the `figures` table)."""

    report_id: Series[pd.StringDtype] = _field(str_matches=v.SLUG_PATTERN, description="Report the figure comes from.")
    figure_id: Series[pd.StringDtype] = _field(
        str_matches=v.SLUG_PATTERN, description="Stable id of the figure within its report.")
    topic: Series[pd.StringDtype] = pa.Field(isin=list(v.TOPICS), description="total, channel, arms or trade.")
    subject: Series[pd.StringDtype] = _field(
        str_matches=v.SNAKE_PATTERN,
        description="What is measured: the channel name, the arms item, illicit_income, or a trade subject.")
    item_type: Series[pd.StringDtype] = pa.Field(
        nullable=True, isin=list(v.ITEM_TYPES), description="For arms figures: the kind of item.")
    value_as_published: Series[float] = pa.Field(
        ge=0, description="The number as the report writes it, in unit_as_published (13.5 for '$13.5 billion').")
    unit_as_published: Series[pd.StringDtype] = pa.Field(isin=list(v.UNITS), description="Unit of value_as_published.")
    value_text: Series[pd.StringDtype] = pa.Field(
        str_length={"min_value": 1}, description="The value exactly as written in the quote ('$13.5 billion', 'nine').")
    qualifier: Series[pd.StringDtype] = pa.Field(
        nullable=True, isin=list(v.QUALIFIERS),
        description="How the report hedges or bounds the value: nearly, approximately, about, estimated, ... (approximate), "
                    "more than, over, at least (lower bound), up to, less than, under, at most (upper bound), or NULL.")
    amount_usd: Series[float] = pa.Field(
        nullable=True, ge=0, description="The published amount in whole US dollars; NULL for counts.")
    quantity: Series[pd.Int64Dtype] = pa.Field(
        nullable=True, ge=0, description="The published count (whole number); NULL for money.")
    period_start: Series[pd.Timestamp] = pa.Field(description="First day of the period the figure covers.")
    period_end: Series[pd.Timestamp] = pa.Field(description="Last day (inclusive) of the period the figure covers.")
    period_inherited: Series[bool] = pa.Field(
        description="True when the figure states no period of its own and takes the report's.")
    quote: Series[pd.StringDtype] = pa.Field(
        str_length={"min_value": 1}, description="The verbatim sentence or clause of the source that states it.")
    best_amount_usd: Series[float] = pa.Field(
        nullable=True, ge=0, description="Best estimate in whole US dollars: the correction where there is one, "
                                         "else amount_usd. NULL for counts.")
    best_quantity: Series[pd.Int64Dtype] = pa.Field(
        nullable=True, ge=0, description="Best estimate of the count: the correction where there is one, else quantity.")
    corrected: Series[bool] = pa.Field(description="True when a person recorded a correction of this figure.")
    correction_basis: Series[pd.StringDtype] = pa.Field(
        nullable=True, isin=["cited", "inferred"],
        description="cited (another source states the value) or inferred (reasoning); NULL if not corrected.")
    correction_value: Series[float] = pa.Field(nullable=True, ge=0, description="The corrected value, in correction_unit.")
    correction_unit: Series[pd.StringDtype] = pa.Field(nullable=True, isin=list(v.UNITS), description="Unit of correction_value.")
    correction_value_text: Series[pd.StringDtype] = pa.Field(
        nullable=True, description="The corrected value as the cited source writes it.")
    correction_note: Series[pd.StringDtype] = pa.Field(nullable=True, description="Why the figure was corrected, in a sentence.")
    correction_reasoning: Series[pd.StringDtype] = pa.Field(
        nullable=True, description="For an inferred correction: the reasoning that leads to the value.")
    cited_publisher: Series[pd.StringDtype] = pa.Field(
        nullable=True, description="Publisher of the source a cited correction cites.")
    cited_title: Series[pd.StringDtype] = pa.Field(nullable=True, description="Title of the cited source.")
    cited_date: Series[pd.Timestamp] = pa.Field(nullable=True, description="Publication date of the cited source.")
    cited_url: Series[pd.StringDtype] = pa.Field(nullable=True, description="Address of the cited source.")
    correction_evidence_file: Series[pd.StringDtype] = pa.Field(
        nullable=True, description="Stored copy of the evidence in the report folder, if any.")
    correction_evidence_quote: Series[pd.StringDtype] = pa.Field(
        nullable=True, description="The passage of the evidence file that states the value (verified to occur in it).")
    measure: Series[pd.StringDtype] = pa.Field(
        isin=list(v.MEASURES),
        description="What the value measures: income (money over the period), income_per_year (a rate), event (money "
                    "of one event), incidents or people (counts), share (percent), quantity (arms items), amount (trade).")
    bound: Series[pd.StringDtype] = pa.Field(
        nullable=True, isin=[v.APPROXIMATE, v.LOWER_BOUND, v.UPPER_BOUND],
        description="approximate, lower (the truth is at least the value) or upper (at most), from the qualifier; "
                    "NULL when the value is stated plainly.")
    share_percent: Series[float] = pa.Field(
        nullable=True, ge=0, le=100, description="The published share in percent (61 for '61 percent'); NULL otherwise.")
    best_share_percent: Series[float] = pa.Field(
        nullable=True, ge=0, le=100, description="Best estimate of the share: the correction where there is one.")

    @pa.dataframe_check(description="period_start <= period_end")
    @_passing_as_one
    def period_ordered(cls, df: pd.DataFrame) -> Series[bool]:
        return df["period_start"] <= df["period_end"]

    @pa.dataframe_check(description="a corrected figure has a basis, value and note; an uncorrected one has none, "
                                    "and its best estimate is the published value")
    @_passing_as_one
    def correction_complete(cls, df: pd.DataFrame) -> Series[bool]:
        has = df["corrected"].astype(bool)
        filled = df["correction_basis"].notna() & df["correction_value"].notna() & df["correction_note"].notna()
        same = ((df["best_amount_usd"] == df["amount_usd"]) | (df["best_amount_usd"].isna() & df["amount_usd"].isna())) & (
            (df["best_quantity"] == df["quantity"]).fillna(False) | (df["best_quantity"].isna() & df["quantity"].isna())) & (
            (df["best_share_percent"] == df["share_percent"]) | (df["best_share_percent"].isna() & df["share_percent"].isna()))
        return (has & filled) | (~has & df["correction_basis"].isna() & same)

    @pa.dataframe_check(description="a cited correction names publisher, title, date and url; an inferred one gives reasoning")
    @_passing_as_one
    def correction_basis_documented(cls, df: pd.DataFrame) -> Series[bool]:
        cited = df["correction_basis"] == "cited"
        inferred = df["correction_basis"] == "inferred"
        cited_ok = df[["cited_publisher", "cited_title", "cited_date", "cited_url"]].notna().all(axis=1)
        return (~cited | cited_ok) & (~inferred | df["correction_reasoning"].notna())

    @pa.dataframe_check(description="a value above zero: zero is meaningless for a total, a channel or a count")
    @_passing_as_one
    def positive_where_zero_is_meaningless(cls, df: pd.DataFrame) -> Series[bool]:
        return ~df["topic"].isin(v.POSITIVE_TOPICS) | (df["value_as_published"] != 0)

    @pa.dataframe_check(description="measure allowed for the topic (total and channel: income, income_per_year, event, "
                                    "incidents, people, share; arms: quantity; trade: amount)")
    @_passing_as_one
    def measure_fits_topic(cls, df: pd.DataFrame) -> Series[bool]:
        by_value = _pairs_by_value(_measure_fits_topic, df["topic"], df["measure"])
        if by_value is not None:
            return by_value
        return pd.Series([_measure_fits_topic(t, m) for t, m in zip(df["topic"], df["measure"], strict=True)],
                         index=df.index)

    @pa.dataframe_check(description="unit of the measure's kind (money for income, income_per_year, event and amount; "
                                    "count for incidents, people and quantity; percent for share)")
    @_passing_as_one
    def unit_fits_measure(cls, df: pd.DataFrame) -> Series[bool]:
        by_value = _pairs_by_value(_unit_fits_measure, df["measure"], df["unit_as_published"])
        if by_value is not None:
            return by_value
        # columns that are not text (a failed coercion): the rule row by row
        return pd.Series([_unit_fits_measure(m, u) for m, u in zip(df["measure"], df["unit_as_published"], strict=True)],
                         index=df.index)

    @pa.dataframe_check(description="money figures carry amount_usd only, counts quantity only, shares share_percent only")
    @_passing_as_one
    def amount_or_quantity(cls, df: pd.DataFrame) -> Series[bool]:
        unit = df["unit_as_published"]
        money, count, share = unit.isin(MONEY_UNITS), unit.isin(v.COUNT_UNITS), unit.isin(v.SHARE_UNITS)
        known = unit.isin(v.UNITS)  # an unknown unit is reported by its own check
        has_amount, has_quantity, has_share = df["amount_usd"].notna(), df["quantity"].notna(), df["share_percent"].notna()
        return ~known | (money & has_amount & ~has_quantity & ~has_share) | (
            count & ~has_amount & has_quantity & ~has_share) | (share & ~has_amount & ~has_quantity & has_share)

    @pa.dataframe_check(description="arms figures name an item_type; other topics do not")
    @_passing_as_one
    def item_type_only_for_arms(cls, df: pd.DataFrame) -> Series[bool]:
        return (df["topic"] == "arms") == df["item_type"].notna()

    @pa.dataframe_check(description="a channel is not named total or illicit_income (those are the total's)")
    @_passing_as_one
    def channel_not_total(cls, df: pd.DataFrame) -> Series[bool]:
        return (df["topic"] != "channel") | ~df["subject"].isin([v.TOTAL_SUBJECT, "total"])

    @pa.dataframe_check(description="a total figure's subject is illicit_income")
    @_passing_as_one
    def total_subject(cls, df: pd.DataFrame) -> Series[bool]:
        return (df["topic"] != "total") | (df["subject"] == v.TOTAL_SUBJECT)

    @pa.dataframe_check(description="a trade figure's subject is legal_trade_deficit or deficit_after_illicit_income")
    @_passing_as_one
    def trade_subject(cls, df: pd.DataFrame) -> Series[bool]:
        return (df["topic"] != "trade") | df["subject"].isin(v.TRADE_SUBJECTS)

    class Config:
        strict = True
        coerce = True
        unique = ["report_id", "figure_id"]


class _PeriodRow(pa.DataFrameModel):
    report_id: Series[pd.StringDtype] = _field(str_matches=v.SLUG_PATTERN, description="Report the row comes from.")
    period_start: Series[pd.Timestamp] = pa.Field(description="First day of the period.")
    period_end: Series[pd.Timestamp] = pa.Field(description="Last day of the period (inclusive).")

    @pa.dataframe_check(description="period_start <= period_end")
    @_passing_as_one
    def period_ordered(cls, df: pd.DataFrame) -> Series[bool]:
        return df["period_start"] <= df["period_end"]


class ChannelSchema(_PeriodRow):
    """One row per report, income channel and period (the `channels` table). income_usd is the best
    estimate; income_usd_as_published is what the report says."""

    channel: Series[pd.StringDtype] = _field(
        str_matches=v.SNAKE_PATTERN,
        description="cyber, coal_smuggling, overseas_labor, arms_exports, or a new report's own name.")
    figure_id: Series[pd.StringDtype] = pa.Field(description="The figure in `figures` this row comes from.")
    income_usd: Series[float] = pa.Field(
        ge=0, description="Best estimate of the income over the period, whole US dollars (the correction where "
                          "there is one, else as published).")
    income_usd_as_published: Series[float] = pa.Field(
        ge=0, description="The income as the report states it, whole US dollars.")
    qualifier: Series[pd.StringDtype] = pa.Field(nullable=True, isin=list(v.QUALIFIERS), description="As the report hedges it.")
    corrected: Series[bool] = pa.Field(description="True when the best estimate is a recorded correction.")
    correction_basis: Series[pd.StringDtype] = pa.Field(
        nullable=True, isin=["cited", "inferred"], description="cited or inferred; NULL if not corrected.")

    class Config:
        strict = True
        coerce = True
        # figure_id too: two figures of one channel and period publish both (each its own row), and the
        # contradiction is the report's one_value_per_period warning; one figure twice is still refused
        unique = ["report_id", "channel", "period_start", "period_end", "figure_id"]


class ArmsSchema(_PeriodRow):
    """One row per report, item shipped and period (the `arms` table). quantity is the best estimate;
    quantity_as_published is what the report says."""

    item: Series[pd.StringDtype] = _field(
        str_matches=v.SNAKE_PATTERN, description="What was shipped, e.g. 152mm_artillery_shell.")
    item_type: Series[pd.StringDtype] = pa.Field(isin=list(v.ITEM_TYPES), description="artillery_shell, missile, ...")
    figure_id: Series[pd.StringDtype] = pa.Field(description="The figure in `figures` this row comes from.")
    quantity: Series[pd.Int64Dtype] = pa.Field(ge=0, description="Best estimate of the number of items, whole.")
    quantity_as_published: Series[pd.Int64Dtype] = pa.Field(ge=0, description="The number as the report states it.")
    qualifier: Series[pd.StringDtype] = pa.Field(nullable=True, isin=list(v.QUALIFIERS), description="As the report hedges it.")
    corrected: Series[bool] = pa.Field(description="True when the best estimate is a recorded correction.")
    correction_basis: Series[pd.StringDtype] = pa.Field(
        nullable=True, isin=["cited", "inferred"], description="cited or inferred; NULL if not corrected.")

    class Config:
        strict = True
        coerce = True
        unique = ["report_id", "item", "period_start", "period_end"]


class DeficitSchema(_PeriodRow):
    """One row per report that states a trade deficit (the `deficit` table). The four *_usd columns are
    best estimates; the *_usd_as_published columns are what the report says."""

    legal_trade_deficit_usd: Series[float] = pa.Field(
        ge=0, description="Best estimate of the deficit in legal trade over the period, whole US dollars.")
    deficit_after_illicit_usd: Series[float] = pa.Field(
        ge=0, description="Best estimate of the deficit once illicit income is counted, whole US dollars.")
    implied_illicit_income_usd: Series[float] = pa.Field(
        description="legal_trade_deficit_usd - deficit_after_illicit_usd: the illicit income the two imply.")
    reported_illicit_income_usd: Series[float] = pa.Field(
        nullable=True, ge=0, description="Best estimate of the report's headline total; NULL if it states none.")
    legal_trade_deficit_usd_as_published: Series[float] = pa.Field(ge=0, description="As the report states it.")
    deficit_after_illicit_usd_as_published: Series[float] = pa.Field(ge=0, description="As the report states it.")
    implied_illicit_income_usd_as_published: Series[float] = pa.Field(
        description="legal minus after, as the report states them.")
    reported_illicit_income_usd_as_published: Series[float] = pa.Field(
        nullable=True, ge=0, description="The headline total as the report states it.")
    corrected: Series[bool] = pa.Field(description="True when any of the row's figures carries a correction.")
    legal_figure_id: Series[pd.StringDtype] = pa.Field(description="Figure the legal-trade deficit comes from.")
    after_figure_id: Series[pd.StringDtype] = pa.Field(description="Figure the deficit after illicit income comes from.")
    total_figure_id: Series[pd.StringDtype] = pa.Field(nullable=True, description="Figure the headline total comes from.")

    class Config:
        strict = True
        coerce = True
        # one row per pair of figures: a deficit (or total) stated twice for a period gives a row per figure,
        # and the contradiction is the report's one_value_per_period (or totals_consistent) warning
        unique = ["report_id", "period_start", "period_end", "legal_figure_id", "after_figure_id", "total_figure_id"]


class ValidationResultSchema(pa.DataFrameModel):
    """One row per check, report and value basis (the `validation_results` table)."""

    report_id: Series[pd.StringDtype] = _field(str_matches=v.SLUG_PATTERN, description="Report the check ran on.")
    check_name: Series[pd.StringDtype] = _field(str_matches=v.SNAKE_PATTERN, description="Name of the check.")
    severity: Series[pd.StringDtype] = pa.Field(isin=["error", "warn"], description="error stops a refresh; warn is published.")
    value_basis: Series[pd.StringDtype] = pa.Field(
        isin=["as_published", "best_estimate"], description="Which values the check ran on.")
    passed: Series[pd.BooleanDtype] = pa.Field(
        nullable=True, description="true: compared and agreed; false: failed; NULL: nothing was compared (see status).")
    status: Series[pd.StringDtype] = pa.Field(
        isin=["passed", "failed", "not_compared"],
        description="passed, failed, or not_compared (the message names what was skipped and why).")
    message: Series[pd.StringDtype] = pa.Field(description="What was checked and, if it failed, what was wrong.")

    @pa.dataframe_check(description="status is passed when passed is true, failed when false, not_compared when NULL")
    @_passing_as_one
    def status_matches_passed(cls, df: pd.DataFrame) -> Series[bool]:
        passed = df["passed"].astype("boolean")
        return (passed.isna() & (df["status"] == "not_compared")) | (
            passed.fillna(False) & (df["status"] == "passed")) | (
            (~passed).fillna(False) & (df["status"] == "failed"))

    class Config:
        strict = True
        coerce = True
        unique = ["report_id", "check_name", "value_basis"]


class _Latest(pa.DataFrameModel):
    report_id: Series[pd.StringDtype] = _field(str_matches=v.SLUG_PATTERN, description="The report the value comes from.")
    published_on: Series[pd.Timestamp] = pa.Field(description="When that report was published.")
    publisher: Series[pd.StringDtype] = pa.Field(description="The body that made the estimate.")
    outlet: Series[pd.StringDtype] = pa.Field(nullable=True, description="The outlet that published the document, if another.")
    series: Series[pd.StringDtype] = pa.Field(description="The series it belongs to.")
    period_start: Series[pd.Timestamp] = pa.Field(description="First day of the period the value covers.")
    period_end: Series[pd.Timestamp] = pa.Field(description="Last day (inclusive) of the period the value covers.")
    corrected: Series[bool] = pa.Field(description="True when the best estimate is a recorded correction.")


class LatestChannelSchema(_Latest):
    """View `latest_channels`: for each channel and each period any report states for it, the value from the
    most recently published report that states that period. Periods differ in length: compare per_year_usd."""

    channel: Series[pd.StringDtype] = _field(str_matches=v.SNAKE_PATTERN, description="The income channel.")
    income_usd: Series[float] = pa.Field(ge=0, description="Best estimate, whole US dollars.")
    income_usd_as_published: Series[float] = pa.Field(ge=0, description="As the report states it.")
    correction_basis: Series[pd.StringDtype] = pa.Field(
        nullable=True, isin=["cited", "inferred"], description="cited or inferred.")
    figure_id: Series[pd.StringDtype] = pa.Field(description="The figure in `figures` the value comes from.")
    years: Series[float] = pa.Field(gt=0, description="Length of the period in years (whole months / 12 where the period "
                                                      "is whole months, else days / 365.2425).")
    per_year_usd: Series[float] = pa.Field(ge=0, description="income_usd / years: comparable across period lengths.")
    qualifier: Series[pd.StringDtype] = pa.Field(nullable=True, isin=list(v.QUALIFIERS), description="As the report hedges it.")

    class Config:
        strict = True
        coerce = True
        unique = ["channel", "period_start", "period_end", "figure_id"]


class LatestArmsSchema(_Latest):
    """View `latest_arms`: for each item, the count from the most recently published report that states it."""

    item: Series[pd.StringDtype] = _field(str_matches=v.SNAKE_PATTERN, description="What was shipped.")
    item_type: Series[pd.StringDtype] = pa.Field(isin=list(v.ITEM_TYPES), description="artillery_shell, missile, ...")
    quantity: Series[pd.Int64Dtype] = pa.Field(ge=0, description="Best estimate of the count.")
    quantity_as_published: Series[pd.Int64Dtype] = pa.Field(ge=0, description="As the report states it.")
    figure_id: Series[pd.StringDtype] = pa.Field(description="The figure in `figures` the value comes from.")

    class Config:
        strict = True
        coerce = True
        unique = ["item", "period_start", "period_end", "figure_id"]


class LatestDeficitSchema(_Latest):
    """View `latest_deficit`: the trade deficit of the most recently published report that states one."""

    legal_trade_deficit_usd: Series[float] = pa.Field(ge=0, description="Best estimate, whole US dollars.")
    deficit_after_illicit_usd: Series[float] = pa.Field(ge=0, description="Best estimate, whole US dollars.")
    implied_illicit_income_usd: Series[float] = pa.Field(description="Legal minus after (best estimates).")
    reported_illicit_income_usd: Series[float] = pa.Field(nullable=True, ge=0, description="The report's total.")
    legal_trade_deficit_usd_as_published: Series[float] = pa.Field(ge=0, description="As the report states it.")
    deficit_after_illicit_usd_as_published: Series[float] = pa.Field(ge=0, description="As the report states it.")
    legal_figure_id: Series[pd.StringDtype] = pa.Field(description="Figure the legal-trade deficit comes from.")
    after_figure_id: Series[pd.StringDtype] = pa.Field(description="Figure the deficit after illicit income comes from.")
    total_figure_id: Series[pd.StringDtype] = pa.Field(nullable=True, description="Figure the headline total comes from.")

    class Config:
        strict = True
        coerce = True
        unique = ["report_id", "period_start", "period_end", "legal_figure_id", "after_figure_id", "total_figure_id"]


class ReportChangeSchema(pa.DataFrameModel):
    """Table `report_changes`: for reports of one series, each figure that changed from one edition to
    the next, with old and new value and the absolute and relative change; new and dropped figures too."""

    series: Series[pd.StringDtype] = _field(str_matches=v.SLUG_PATTERN, description="The series both editions belong to.")
    old_report_id: Series[pd.StringDtype] = pa.Field(description="The earlier edition.")
    new_report_id: Series[pd.StringDtype] = pa.Field(description="The next edition.")
    old_published_on: Series[pd.Timestamp] = pa.Field(description="When the earlier edition was published.")
    new_published_on: Series[pd.Timestamp] = pa.Field(description="When the next edition was published.")
    change: Series[pd.StringDtype] = pa.Field(isin=["changed", "new", "dropped"], description="changed, new or dropped.")
    topic: Series[pd.StringDtype] = pa.Field(isin=list(v.TOPICS), description="The figure's topic.")
    subject: Series[pd.StringDtype] = _field(str_matches=v.SNAKE_PATTERN, description="The figure's subject.")
    unit: Series[pd.StringDtype] = pa.Field(isin=["USD", "count", "percent"],
                                            description="USD (whole dollars), count or percent.")
    old_value: Series[float] = pa.Field(nullable=True, description="As published in the earlier edition.")
    new_value: Series[float] = pa.Field(nullable=True, description="As published in the next edition.")
    abs_change: Series[float] = pa.Field(nullable=True, description="new_value - old_value.")
    rel_change: Series[float] = pa.Field(nullable=True, description="abs_change / old_value (NULL if old is 0).")
    old_best_value: Series[float] = pa.Field(nullable=True, description="Best estimate in the earlier edition.")
    new_best_value: Series[float] = pa.Field(nullable=True, description="Best estimate in the next edition.")
    old_period_start: Series[pd.Timestamp] = pa.Field(nullable=True, description="Period of the earlier figure.")
    old_period_end: Series[pd.Timestamp] = pa.Field(nullable=True, description="Period of the earlier figure.")
    new_period_start: Series[pd.Timestamp] = pa.Field(nullable=True, description="Period of the next figure.")
    new_period_end: Series[pd.Timestamp] = pa.Field(nullable=True, description="Period of the next figure.")
    old_figure_id: Series[pd.StringDtype] = pa.Field(nullable=True, description="The figure in the earlier edition.")
    new_figure_id: Series[pd.StringDtype] = pa.Field(nullable=True, description="The figure in the next edition.")
    measure: Series[pd.StringDtype] = pa.Field(isin=list(v.MEASURES), description="What the figure measures.")

    @pa.dataframe_check(description="new rows have only a new side, dropped rows only an old side")
    @_passing_as_one
    def sides_match_change(cls, df: pd.DataFrame) -> Series[bool]:
        has_old, has_new = df["old_figure_id"].notna(), df["new_figure_id"].notna()
        return ((df["change"] == "new") & ~has_old & has_new) | ((df["change"] == "dropped") & has_old & ~has_new) | (
            (df["change"] == "changed") & has_old & has_new)

    class Config:
        strict = True
        coerce = True


_ESTIMATE_UNITS = ["USD", "USD per year", "count", "percent"]
_PERIOD_YEARS = "Length of the period in years: whole months / 12 where it runs over whole months, else days / 365.2425."


class EstimateSchema(pa.DataFrameModel):
    """View `estimates`: one row per figure about a channel or the total, from every report, with what it
    measures, its unit, period, value (best estimate and as published), bound and per-year average."""

    report_id: Series[pd.StringDtype] = _field(str_matches=v.SLUG_PATTERN, description="The report that states it.")
    figure_id: Series[pd.StringDtype] = pa.Field(description="The figure in `figures`.")
    series: Series[pd.StringDtype] = pa.Field(description="The report's series (its editions share it).")
    publisher: Series[pd.StringDtype] = pa.Field(description="The body that made the estimate.")
    outlet: Series[pd.StringDtype] = pa.Field(nullable=True, description="The outlet that published the document, if another.")
    published_on: Series[pd.Timestamp] = pa.Field(description="When the report was published.")
    channel: Series[pd.StringDtype] = _field(str_matches=v.SNAKE_PATTERN,
                                            description="The channel, or 'total' for the report's headline total.")
    measure: Series[pd.StringDtype] = pa.Field(
        isin=[m for m in v.MEASURES if m not in (v.QUANTITY, v.AMOUNT)],
        description="income, income_per_year, event, incidents, people or share.")
    unit: Series[pd.StringDtype] = pa.Field(isin=_ESTIMATE_UNITS, description="USD, USD per year, count or percent.")
    period_start: Series[pd.Timestamp] = pa.Field(description="First day of the period.")
    period_end: Series[pd.Timestamp] = pa.Field(description="Last day of the period (inclusive).")
    years: Series[float] = pa.Field(gt=0, description=_PERIOD_YEARS)
    value: Series[float] = pa.Field(ge=0, description="Best estimate, in unit (the correction where there is one).")
    value_as_published: Series[float] = pa.Field(ge=0, description="As the report states it, in unit.")
    per_year_average: Series[float] = pa.Field(
        nullable=True, ge=0, description="value / years for income and incidents; NULL for rates, events, people, shares.")
    per_year_average_as_published: Series[float] = pa.Field(nullable=True, ge=0, description="The same, as published.")
    qualifier: Series[pd.StringDtype] = pa.Field(nullable=True, isin=list(v.QUALIFIERS), description="As the report hedges it.")
    bound: Series[pd.StringDtype] = pa.Field(nullable=True, isin=[v.APPROXIMATE, v.LOWER_BOUND, v.UPPER_BOUND],
                                             description="approximate, lower or upper (from the qualifier).")
    corrected: Series[bool] = pa.Field(description="True when the best estimate is a recorded correction.")
    correction_basis: Series[pd.StringDtype] = pa.Field(nullable=True, isin=["cited", "inferred"],
                                                        description="cited or inferred.")
    period_inherited: Series[bool] = pa.Field(description="True when the figure states no period and takes the report's.")
    value_text: Series[pd.StringDtype] = pa.Field(description="The value as the quote writes it.")
    quote: Series[pd.StringDtype] = pa.Field(description="The sentence of the stored document that states it.")

    @pa.dataframe_check(description="period_start <= period_end")
    @_passing_as_one
    def period_ordered(cls, df: pd.DataFrame) -> Series[bool]:
        return df["period_start"] <= df["period_end"]

    class Config:
        strict = True
        coerce = True
        unique = ["report_id", "figure_id"]


class SourceComparisonSchema(pa.DataFrameModel):
    """Table `source_comparisons`: every pair of estimates of the same channel and measure from two series whose
    periods are comparable, on the later report, with both values and periods, the ratio and the factor apart
    (rows in no particular order)."""

    channel: Series[pd.StringDtype] = _field(str_matches=v.SNAKE_PATTERN, description="The channel, or 'total'.")
    measure: Series[pd.StringDtype] = pa.Field(isin=list(v.MEASURES), description="What both estimates measure.")
    unit: Series[pd.StringDtype] = pa.Field(isin=_ESTIMATE_UNITS, description="The unit of both values.")
    basis: Series[pd.StringDtype] = pa.Field(
        isin=["same_period", "per_year_average", "overlapping_periods"],
        description="same_period (values compared), per_year_average (income or incidents over periods overlapping by "
                    "at least half: per-year averages compared) or overlapping_periods (levels: values compared).")
    overlap_share: Series[float] = pa.Field(ge=0, le=1, description="Days the periods share / days of the longer period.")
    report_id: Series[pd.StringDtype] = pa.Field(description="The later report (by published_on, then report_id).")
    series: Series[pd.StringDtype] = pa.Field(description="Its series.")
    publisher: Series[pd.StringDtype] = pa.Field(description="Its estimating body.")
    outlet: Series[pd.StringDtype] = pa.Field(nullable=True, description="Its outlet, if another.")
    published_on: Series[pd.Timestamp] = pa.Field(description="When it was published.")
    figure_id: Series[pd.StringDtype] = pa.Field(description="Its figure.")
    period_start: Series[pd.Timestamp] = pa.Field(description="Its period's first day.")
    period_end: Series[pd.Timestamp] = pa.Field(description="Its period's last day.")
    years: Series[float] = pa.Field(gt=0, description=_PERIOD_YEARS)
    qualifier: Series[pd.StringDtype] = pa.Field(nullable=True, description="Its qualifier.")
    bound: Series[pd.StringDtype] = pa.Field(nullable=True, description="Its bound.")
    value: Series[float] = pa.Field(description="Its best estimate.")
    value_as_published: Series[float] = pa.Field(description="Its value as published.")
    other_report_id: Series[pd.StringDtype] = pa.Field(description="The earlier report, of another series.")
    other_series: Series[pd.StringDtype] = pa.Field(description="Its series.")
    other_publisher: Series[pd.StringDtype] = pa.Field(description="Its estimating body.")
    other_outlet: Series[pd.StringDtype] = pa.Field(nullable=True, description="Its outlet, if another.")
    other_published_on: Series[pd.Timestamp] = pa.Field(description="When it was published.")
    other_figure_id: Series[pd.StringDtype] = pa.Field(description="Its figure.")
    other_period_start: Series[pd.Timestamp] = pa.Field(description="Its period's first day.")
    other_period_end: Series[pd.Timestamp] = pa.Field(description="Its period's last day.")
    other_years: Series[float] = pa.Field(gt=0, description=_PERIOD_YEARS)
    other_qualifier: Series[pd.StringDtype] = pa.Field(nullable=True, description="Its qualifier.")
    other_bound: Series[pd.StringDtype] = pa.Field(nullable=True, description="Its bound.")
    other_value: Series[float] = pa.Field(description="Its best estimate.")
    other_value_as_published: Series[float] = pa.Field(description="Its value as published.")
    compared_value: Series[float] = pa.Field(description="What is compared: value, or its per-year average.")
    other_compared_value: Series[float] = pa.Field(description="The same for the other report.")
    compared_value_as_published: Series[float] = pa.Field(description="compared_value on the published values.")
    other_compared_value_as_published: Series[float] = pa.Field(description="The same for the other report.")
    ratio: Series[float] = pa.Field(nullable=True, description="compared_value / other_compared_value (best estimates).")
    ratio_as_published: Series[float] = pa.Field(nullable=True, description="The same on the published values.")
    factor: Series[float] = pa.Field(ge=1, description="How far apart the two are (>= 1), bounds respected.")
    factor_as_published: Series[float] = pa.Field(ge=1, description="The same on the published values.")
    agree: Series[bool] = pa.Field(description="factor <= 1.5.")
    agree_as_published: Series[bool] = pa.Field(description="factor_as_published <= 1.5.")

    class Config:
        strict = True
        coerce = True
        unique = ["report_id", "figure_id", "other_report_id", "other_figure_id"]


TABLE_SCHEMAS: dict[str, type[pa.DataFrameModel]] = {
    "reports": ReportSchema,
    "figures": FigureSchema,
    "channels": ChannelSchema,
    "arms": ArmsSchema,
    "deficit": DeficitSchema,
    "validation_results": ValidationResultSchema,
    "report_changes": ReportChangeSchema,
    "latest_channels": LatestChannelSchema,
    "latest_arms": LatestArmsSchema,
    "latest_deficit": LatestDeficitSchema,
    "estimates": EstimateSchema,
    "source_comparisons": SourceComparisonSchema,
}


def column_schema(model: type[pa.DataFrameModel]):
    """The model as a Dagster TableSchema, for the `dagster/column_schema` metadata key.

    Derived through dagster-pandera so that the UI and the validation can never disagree.
    """
    from dagster_pandera import pandera_schema_to_dagster_type

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the function is marked beta; its output is stable here
        return pandera_schema_to_dagster_type(model).metadata["schema"].schema
