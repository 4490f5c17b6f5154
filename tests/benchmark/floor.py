"""The floor: the pipeline's work with no orchestration, in one process.

Reads the same raw/ files with the same loader, validates with the same pandera schemas (raw frames
and every table), computes the same validation_results, builds the same tables and views with the
same SQL in DuckDB, and writes one file with the published storage version. What the benchmark's
pipeline run costs beyond this is the price of Dagster.

    python tests/benchmark/floor.py RAW_DIR OUT.duckdb
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

from pipeline.build import cross_checks, tables
from pipeline.build.queries import PUBLISHED, TABLES, VIEWS, sql
from pipeline.defs.checks import SQL_RULES, _sql_rule_problems
from pipeline.publish.warehouse import PUBLISHED_STORAGE_VERSION
from pipeline.validate.report_checks import run_report_checks
from pipeline.validate.schemas import TABLE_SCHEMAS
from pipeline.validate.validation import load_and_check, table_problems, validate_raw

# The SQL files in the order the assets run them (tables, then the views that read them, then the pairs of
# source_comparisons). The page and the exports the publish step writes (pipeline/publish/release.py) are not
# part of the floor.
ORDER = TABLES + VIEWS


def main(raw_dir: Path, out: Path) -> int:
    raw = validate_raw(load_and_check(raw_dir))
    checks = run_report_checks(raw.reports, raw.figures)
    out.unlink(missing_ok=True)
    con = duckdb.connect(":memory:")
    con.execute(f"ATTACH ? AS floor (STORAGE_VERSION '{PUBLISHED_STORAGE_VERSION}')", [str(out)])
    con.execute("USE floor")
    con.register("reports_frame", raw.reports)
    con.register("figures_frame", raw.figures)
    con.register("validation_frame", checks)
    for name in ORDER:
        con.execute(sql(name))
    tables._compare_sources(con, None)  # source_comparisons from nothing, as a full build makes it
    cross_checks.write_rows(con)  # the checks that compare reports with each other
    for name, model in TABLE_SCHEMAS.items():
        if name in SQL_RULES:  # as the pipeline checks it: SQL rules over every row
            problems = _sql_rule_problems(con, name, model)[0]
        else:
            problems = table_problems(name, con.execute(f'SELECT * FROM "{name}"').df(), model)
        if problems:
            print(f"{name}: {problems[:3]}", file=sys.stderr)
            return 1
    rows = sum(con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in PUBLISHED)
    con.execute("CHECKPOINT floor")
    con.close()
    print(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
