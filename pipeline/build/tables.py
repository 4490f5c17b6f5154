"""The warehouse tables, built in a refresh's staging file: from nothing, or from a copy of the
published file by replacing only the rows of the reports that changed.

Every table's rows belong to one report (reports, figures, channels, arms, deficit,
validation_results) or to one series (report_changes compares a series' editions), and the SQL of
pipeline/build/sql/ computes them from that report's (that series' reports') cached rows alone. So when a
few reports were added, edited or removed, a refresh starts from a copy of the published file and

  1. runs the same SQL files on the cached rows of every report in a series that holds a changed
     report (before or now), in an in-memory database;
  2. in one transaction, replaces the changed reports' rows of every table, and those series'
     report_changes rows, with what they produced.

`source_comparisons` pairs the estimates of reports of different series: it can hold millions of rows,
so it is a table kept up to date pair by pair. A pair's rows depend only on its two series' estimates
(an estimate is superseded only by a later report of its own series), so an incremental refresh
deletes the pairs that touch a series of a changed report and computes those again, with the same
SQL file that builds the table from nothing; the cross-report rows of validation_results
(pipeline.build.cross_checks) are then written again for the reports whose pairs changed.

The published file records what it was built from (schema `build`: every report folder's digest, the
code version, the run and how it was built), so the next refresh can tell which reports changed. It
builds from nothing instead when there is no published file or no such record, when the code version
differs, when more than `max_share` of the reports changed (then a rebuild is cheaper, and it
compacts the file), or when asked to (`python -m pipeline refresh --full`).

Either way the tables hold the same rows (tests/test_tables.py and the benchmark compare them with a
rebuild from nothing). Only the physical order differs: an incremental refresh stores the changed
reports' rows at the end of each table, and SQL promises no order without ORDER BY.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field

from pipeline.build import cross_checks
from pipeline.build.queries import COMPARISON_TABLES, TABLES, VIEWS, sql
from pipeline.read import report_cache
from pipeline.read.report_cache import ROWS

# Tables whose every row belongs to one report, and to one series.
REPORT_TABLES = ("reports", "figures", "channels", "arms", "deficit", "validation_results")
SERIES_TABLES = ("report_changes",)
REPORT_VIEWS = ("estimates",)  # views whose every row comes from one report's rows alone
assert sorted(REPORT_TABLES + SERIES_TABLES) == sorted(TABLES)

FROM_NOTHING = "from nothing"
INCREMENTAL = "incremental"

# The rows an incremental build rewrites (temporary tables of the staging connection, see _rebuild_changed).
_CHANGED_REPORTS = "report_id IN (SELECT report_id FROM _changed_reports)"
_REBUILT_SERIES = "series IN (SELECT series FROM _rebuilt_series)"
# The pairs of source_comparisons an incremental build rewrites: those that touch a rebuilt series.
_COMPARED_SERIES = ("(series IN (SELECT series FROM _comparison_series) "
                    "OR other_series IN (SELECT series FROM _comparison_series))")

_RECORD = """
CREATE SCHEMA IF NOT EXISTS build;
CREATE OR REPLACE TABLE build.report_folders (
    report_id     VARCHAR PRIMARY KEY,
    folder_digest VARCHAR NOT NULL
);
CREATE OR REPLACE TABLE build.info (
    run_id          VARCHAR NOT NULL,
    built_at        TIMESTAMP NOT NULL,
    method          VARCHAR NOT NULL,
    reason          VARCHAR NOT NULL,
    reports         INTEGER NOT NULL,
    reports_rebuilt INTEGER NOT NULL,
    code_version    VARCHAR NOT NULL
);
"""


@dataclass
class Plan:
    """How this refresh builds its tables, decided from the published file and the current folder digests."""

    digests: dict[str, str]  # report_id -> folder digest, for every report folder in raw/
    max_share: float = 0.5
    incremental: bool = False
    reason: str = ""
    changed: list[str] = field(default_factory=list)  # report ids added, edited or removed since the published file

    def decide(self, published, unavailable: str = "") -> bool:
        """Given a read-only connection to the published file (or None, and why there is none to use),
        decide; True when the staging file should start as a copy of it."""
        self.incremental = False
        if self.max_share <= 0:
            self.reason = "a build from nothing was asked for"
        else:
            self.reason = unavailable or self._why_not(published)
        if not self.reason:
            self.incremental = True
            self.reason = f"{len(self.changed)} of {len(self.digests)} report folders changed since the published file"
        return self.incremental

    def _why_not(self, published) -> str:
        import duckdb

        try:
            return self._compare(published)
        except duckdb.Error as exc:  # a build record of another layout (an older or newer pipeline)
            return f"the published warehouse's build record could not be read ({str(exc).splitlines()[0]})"

    def _compare(self, published) -> str:
        if not published.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'build' "
                                  "AND table_name IN ('info', 'report_folders')").fetchall()[0][0] == 2:
            return "the published warehouse does not record what it was built from"
        version = published.execute("SELECT code_version FROM build.info").fetchall()
        if [row[0] for row in version] != [report_cache.code_version()]:
            return "the pipeline's code or libraries changed since the published warehouse was built"
        before = dict(published.execute("SELECT report_id, folder_digest FROM build.report_folders").fetchall())
        self.changed = sorted(r for r in before.keys() | self.digests.keys() if before.get(r) != self.digests.get(r))
        if len(self.changed) > self.max_share * max(len(self.digests), 1):
            return (f"{len(self.changed)} of {len(self.digests)} report folders changed (more than "
                    f"{self.max_share:.0%}: a build from nothing is cheaper)")
        return ""


@dataclass(frozen=True)
class Built:
    """What a build did: its method and why, and which rows it wrote (for the table checks)."""

    method: str
    reason: str
    reports: int
    reports_rebuilt: int

    def rows_to_validate(self, table: str) -> str | None:
        """A SQL condition on `table`'s rows that selects the rows this build wrote, or None for all of
        them. Rows an incremental build kept were validated when the file they come from was published,
        by the same code (the code version is part of the decision)."""
        if self.method == FROM_NOTHING:
            return None
        if table in VIEWS:  # estimates has a row per figure, from its report alone; the latest_* views combine reports
            return _CHANGED_REPORTS if table in REPORT_VIEWS else None
        if table == "validation_results":  # and the cross-report rows written again (cross_checks.write_rows)
            return (f"({_CHANGED_REPORTS} OR check_name = '{cross_checks.DISTINCT_DOCUMENTS}' OR "
                    f"(check_name = '{cross_checks.SOURCES_AGREE}' AND report_id IN (SELECT report_id FROM _compared_reports)))")
        if table in COMPARISON_TABLES:
            return _COMPARED_SERIES
        return _REBUILT_SERIES if table in SERIES_TABLES else _CHANGED_REPORTS


def build(con, plan: Plan, run_id: str) -> Built:
    """Build every table and view in the staging connection `con` (the report cache attached as
    `cache` and holding exactly the reports of plan.digests), as `plan` decided, and record it."""
    if plan.incremental:
        rebuilt = _rebuild_changed(con, plan.changed)
        _compare_sources(con, "SELECT series FROM _rebuilt_series")
    else:
        _build_everything(con)
        rebuilt = len(plan.digests)
        _compare_sources(con, None)
    cross_checks.write_rows(con, "SELECT report_id FROM _compared_reports")
    built = Built(INCREMENTAL if plan.incremental else FROM_NOTHING, plan.reason, len(plan.digests), rebuilt)
    _record(con, plan.digests, built, run_id)
    return built


def _build_everything(con) -> None:
    report_cache.use_cached_rows(con)
    for table in (*TABLES, *VIEWS):
        con.execute("BEGIN")
        con.execute(sql(table))
        con.execute("COMMIT")


def _compare_sources(con, series: str | None) -> None:
    """Build source_comparisons (from nothing when `series` is None), or replace the pairs that touch the
    series `series` selects; either way, record in the temporary table _compared_reports the reports
    whose pairs may have changed (before or now), whose cross-report rows must be written again."""
    con.execute("CREATE OR REPLACE TEMP TABLE _comparison_series AS "
                + (series or "SELECT DISTINCT series FROM reports"))
    query = sql("source_comparisons")
    con.execute("BEGIN")
    if series is None:
        con.execute(f"CREATE OR REPLACE TABLE source_comparisons AS {query}")
        con.execute("CREATE OR REPLACE TEMP TABLE _compared_reports AS SELECT report_id FROM reports")
    else:
        # the reports on the later side of a pair that is replaced, before and after, and those of the series
        touching = f"SELECT report_id FROM source_comparisons WHERE {_COMPARED_SERIES}"
        con.execute(f"CREATE OR REPLACE TEMP TABLE _compared_reports AS {touching} UNION "
                    "SELECT report_id FROM reports WHERE series IN (SELECT series FROM _comparison_series)")
        con.execute(f"DELETE FROM source_comparisons WHERE {_COMPARED_SERIES}").fetchall()
        con.execute(f"INSERT INTO source_comparisons {query}").fetchall()
        con.execute(f"INSERT INTO _compared_reports {touching}").fetchall()
    con.execute("COMMIT")


def _rebuild_changed(con, changed: list[str]) -> int:
    """Replace the rows of the changed reports, and the report_changes rows of their series (before and
    now); returns how many reports' rows were written (a removed report's rows are only deleted)."""
    con.execute("CREATE OR REPLACE TEMP TABLE _changed_reports AS SELECT DISTINCT unnest(?::VARCHAR[]) AS report_id",
                [changed]).fetchall()
    # the series a changed report belongs to, before (the copy of the published file) and now (the cache)
    con.execute("CREATE OR REPLACE TEMP TABLE _rebuilt_series AS "
                "SELECT series FROM main.reports WHERE report_id IN (SELECT report_id FROM _changed_reports) UNION "
                f"SELECT series FROM {ROWS['reports']} WHERE report_id IN (SELECT report_id FROM _changed_reports)")
    # report_changes compares a series' editions: its SQL reads every report of those series
    con.execute("CREATE OR REPLACE TEMP TABLE _series_reports AS "
                f"SELECT report_id FROM {ROWS['reports']} WHERE series IN (SELECT series FROM _rebuilt_series)")
    staging = con.execute("SELECT current_database()").fetchall()[0][0].replace('"', '""')
    report_cache.use_cached_rows(con, only="SELECT report_id FROM _series_reports")
    alias = f"rebuilt_{uuid.uuid4().hex}"  # a name no warehouse file can give its own database
    con.execute(f"ATTACH ':memory:' AS {alias}")
    try:
        con.execute(f"USE {alias}")  # the same SQL files, on those series' rows only
        for table in TABLES:
            con.execute(sql(table))
        con.execute(f'USE "{staging}"')
        con.execute("BEGIN")
        try:
            for table in REPORT_TABLES:
                con.execute(f'DELETE FROM main."{table}" WHERE {_CHANGED_REPORTS}').fetchall()
                con.execute(f'INSERT INTO main."{table}" SELECT * FROM {alias}.main."{table}" '
                            f"WHERE {_CHANGED_REPORTS}").fetchall()
            for table in SERIES_TABLES:
                con.execute(f'DELETE FROM main."{table}" WHERE {_REBUILT_SERIES}').fetchall()
                con.execute(f'INSERT INTO main."{table}" SELECT * FROM {alias}.main."{table}"').fetchall()
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")  # so that the statements below run, and the first error is the one raised
            raise
    finally:
        con.execute(f'USE "{staging}"')
        con.execute(f"DETACH {alias}")
    return con.execute(f"SELECT count(*) FROM _changed_reports WHERE report_id IN (SELECT report_id FROM {ROWS['reports']})"
                       ).fetchall()[0][0]


def _record(con, digests: dict[str, str], built: Built, run_id: str) -> None:
    """Write schema `build`: every report folder's digest and how this file was built."""
    con.execute("BEGIN")
    con.execute(_RECORD)
    con.execute("INSERT INTO build.report_folders SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[])",
                [list(digests), list(digests.values())]).fetchall()
    con.execute("INSERT INTO build.info VALUES (?, ?, ?, ?, ?, ?, ?)",
                [run_id, datetime.datetime.now(datetime.UTC).replace(tzinfo=None), built.method, built.reason,
                 built.reports, built.reports_rebuilt, report_cache.code_version()]).fetchall()
    con.execute("COMMIT")
