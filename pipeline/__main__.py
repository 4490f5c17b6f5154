"""Command line: `python -m pipeline refresh` (what `make warehouse` runs) and `python -m pipeline summary`.

`refresh` runs the Dagster job `refresh_warehouse` in this process against the project's persistent
Dagster instance (DAGSTER_HOME), so its runs show in `dagster dev`'s run history, then prints where the
warehouse is, what it holds, and every check that did not pass. Exit status 1 if the run failed; the
published file is then exactly as it was.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from pathlib import Path


def _ensure_dagster_home() -> Path:
    from pipeline.warehouse import PROJECT_ROOT

    home = os.environ.get("DAGSTER_HOME") or str(PROJECT_ROOT / ".dagster_home")
    os.environ["DAGSTER_HOME"] = home
    Path(home).mkdir(parents=True, exist_ok=True)
    return Path(home)


SHOW_REPORTS = 20  # reports listed in full at the end of a refresh; the rest are counted


def summary(path: Path, out=sys.stdout) -> int:
    """Print what the published warehouse holds and, per report, every check that did not pass:
    reconciliation on the as-published values and on the best estimates, side by side."""
    import duckdb

    from pipeline.report_checks import AS_PUBLISHED, BEST_ESTIMATE, RECONCILIATION_CHECKS
    from pipeline.warehouse import PUBLISHED

    if not path.exists():
        print(f"no warehouse at {path}", file=out)
        return 1
    con = duckdb.connect(str(path), read_only=True)
    try:
        print(f"warehouse: {path}", file=out)
        page = path.parent / "site" / "index.html"
        if page.exists():
            print(f"report page: {page} (exports, with datapackage.json: {path.parent / 'export'})", file=out)
        for table in PUBLISHED:
            rows = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
            print(f"  {table:<20} {rows:>7} rows", file=out)
        total_reports = con.execute("SELECT count(*) FROM reports").fetchall()[0][0]
        failed_total, failing_reports = con.execute(
            "SELECT count(*), count(DISTINCT report_id) FROM validation_results WHERE NOT passed").fetchall()[0]
        # only what is printed: the first SHOW_REPORTS reports with a check that did not pass, by date
        con.execute("CREATE TEMP TABLE shown AS SELECT report_id, published_on FROM reports WHERE report_id IN "
                    "(SELECT report_id FROM validation_results WHERE NOT passed) "
                    "ORDER BY published_on, report_id LIMIT ?", [SHOW_REPORTS])
        shown = con.execute("SELECT report_id, published_on FROM shown ORDER BY published_on, report_id").fetchall()
        results = con.execute(
            "SELECT report_id, check_name, severity, value_basis, passed, message FROM validation_results "
            "WHERE NOT passed AND report_id IN (SELECT report_id FROM shown) "
            "ORDER BY report_id, check_name, value_basis").fetchall()
        corrections = dict(((r, (n, c, i)) for r, n, c, i in con.execute(
            "SELECT report_id, count(*), count(*) FILTER (correction_basis = 'cited'), "
            "count(*) FILTER (correction_basis = 'inferred') FROM figures "
            "WHERE corrected AND report_id IN (SELECT report_id FROM shown) GROUP BY report_id"
        ).fetchall()))
    finally:
        con.close()
    by_report: dict[str, list[tuple]] = {}
    for row in results:
        by_report.setdefault(row[0], []).append(row)
    if total_reports > failing_reports:
        print(f"\n{total_reports - failing_reports} report(s) pass every check", file=out)
    for report_id, published_on in shown:
        print(f"\nreport {report_id} (published {published_on})", file=out)
        mine = by_report[report_id]
        for basis, label in ((AS_PUBLISHED, "as-published values"), (BEST_ESTIMATE, "best estimates")):
            failed = [r for r in mine if r[1] in RECONCILIATION_CHECKS and r[3] == basis and not r[4]]
            names = ", ".join(r[1] for r in failed)
            print(f"  reconciliation on its {label}: "
                  + (f"{len(failed)} warning(s): {names}" if failed else "no warnings"), file=out)
            for _, check_name, severity, _, _, message in failed:
                print(f"    [{severity}] {check_name}: {message}", file=out)
        other = [r for r in mine if r[1] not in RECONCILIATION_CHECKS and not r[4]]
        for _, check_name, severity, _, _, message in other:
            print(f"  [{severity}] {check_name}: {message}", file=out)
        n, cited, inferred = corrections.get(report_id, (0, 0, 0))
        print(f"  corrections: {n} figure(s) corrected ({cited} cited, {inferred} inferred); "
              "best estimates are in channels.income_usd and the deficit's *_usd columns", file=out)
    if failing_reports > len(shown):
        print(f"\n... and {failing_reports - len(shown)} more report(s) with checks that did not pass", file=out)
    print(f"\n{failed_total} check row(s) did not pass; all are in validation_results (where not passed)", file=out)
    return 0


def refresh(raw: str | None = None, warehouse: str | None = None, full: bool = False) -> int:
    home = _ensure_dagster_home()
    from pipeline.definitions import defs
    from pipeline.instance import refresh_instance
    from pipeline.jobs import REFRESH_JOB
    from pipeline.warehouse import Warehouse

    published = Warehouse(path=str(Path(warehouse).resolve())).published_path if warehouse else Warehouse().published_path
    with refresh_instance() as instance:
        job = defs.resolve_job_def(REFRESH_JOB)
        run_config: dict = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
        resources = {}
        if raw:
            resources["raw"] = {"config": {"path": str(Path(raw).resolve())}}
        if warehouse or full:
            resources["warehouse"] = {"config": {
                **({"path": str(Path(warehouse).resolve())} if warehouse else {}),
                **({"incremental_max_share": 0.0} if full else {})}}
        if resources:
            run_config["resources"] = resources
        result = job.execute_in_process(instance=instance, raise_on_error=False, run_config=run_config)
        print(f"\nDagster run {result.run_id} ({'succeeded' if result.success else 'FAILED'}); "
              f"DAGSTER_HOME={home}; see it with `make dev`")
        failed_checks = [e for e in result.get_asset_check_evaluations() if not e.passed]
        for evaluation in failed_checks:
            print(f"  asset check {evaluation.asset_check_key.to_user_string()} did not pass "
                  f"({evaluation.severity.value})")
        if result.success:
            publish = [e for e in result.get_asset_materialization_events()
                       if e.asset_key.to_user_string() == "published_warehouse"]
            if publish:
                metadata = publish[-1].materialization.metadata
                text = metadata["changes_since_previous"].value
                print("\nchanges since the previous published warehouse: " + (
                    text if "\n" not in text and not text.startswith("- ") else "\n" + text.replace("- ", "  ", -1)))
        if not result.success:
            for event in result.all_events:
                if event.is_step_failure and event.step_failure_data and event.step_failure_data.user_failure_data:
                    print(f"\nstep {event.step_key} failed:\n{event.step_failure_data.user_failure_data.description}")
                elif event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
                    print(f"\nstep {event.step_key} failed:\n{event.step_failure_data.error.message}")
            skipped = [e.step_key for e in result.all_events if e.is_step_skipped]
            if skipped:
                print(f"not run because an upstream step or blocking check failed: {', '.join(skipped)}")
            print(f"\nnothing was published; {published} is as it was.")
            return 1
    print()
    return summary(published)


REPORT_TEMPLATE = """\
# Metadata of the report. Dates are TOML dates (2024-09-03, no quotes). Optional fields may be deleted.
title = "TODO: the document's headline or title"
publisher = "TODO: who published it"
published_on = {today}
# published_on_basis = "where the date came from, if the document does not state it whole"
series = "TODO-series-slug"
period_start = {year}-01-01
period_end = {year}-12-31
# period_basis = "how the period was read from the text"
source_file = "{source_file}"
source_sha256 = "{sha256}"
# source_url = "https://..."
# notes = "anything a reader of the figures should know"
"""

FIGURES_TEMPLATE = """\
# One [[figure]] table per figure the document states, exactly as written (no corrections here).
# topic: total | channel | arms | trade.  unit: USD, USD thousand, USD million, USD billion,
# USD trillion, or count.  qualifier: nearly | approximately | about | estimated (or delete the line).
# period_start/period_end: delete both to take the report's period.

[[figure]]
id = "TODO-figure-id"
topic = "channel"
subject = "cyber"
value = 1.0
unit = "USD billion"
value_text = "TODO: the value exactly as written, e.g. $1 billion"
qualifier = "about"
period_start = {year}-01-01
period_end = {year}-12-31
quote = "TODO: the sentence or clause of the document that states it, copied verbatim"
"""


def new_report(report_id: str, source: str, raw: str | None = None) -> int:
    """Create raw/<report_id>/ with the document copied byte for byte and templates to fill in."""
    import datetime
    import hashlib
    import re
    import shutil

    from pipeline.vocabulary import SLUG_PATTERN
    from pipeline.warehouse import RawReportsDir

    if not re.match(SLUG_PATTERN, report_id):
        print(f"report id {report_id!r} is not a slug: use lower-case letters, digits and single hyphens")
        return 2
    source_path = Path(source)
    if not source_path.is_file():
        print(f"no such file: {source}")
        return 2
    raw_dir = Path(raw) if raw else RawReportsDir().resolved
    folder = raw_dir / report_id
    if folder.exists():
        print(f"{folder} already exists; nothing was changed")
        return 2
    folder.mkdir(parents=True)
    target = folder / source_path.name
    shutil.copyfile(source_path, target)
    sha256 = hashlib.sha256(target.read_bytes()).hexdigest()
    today = datetime.date.today()
    (folder / "report.toml").write_text(REPORT_TEMPLATE.format(
        today=today.isoformat(), year=today.year, source_file=target.name, sha256=sha256), encoding="utf-8")
    (folder / "figures.toml").write_text(FIGURES_TEMPLATE.format(year=today.year), encoding="utf-8")
    print(f"created {folder}/ with {target.name} (sha256 {sha256[:12]}...), report.toml and figures.toml;\n"
          "fill in every TODO, then run `make warehouse`: it names anything still wrong.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("refresh", help="run the main job and publish the warehouse")
    run.add_argument("--raw", help="folder of report folders (default: raw/)")
    run.add_argument("--warehouse", help="published DuckDB file (default: warehouse/illicit_income.duckdb)")
    run.add_argument("--full", action="store_true",
                     help="build every table from nothing instead of replacing only the changed reports' rows")
    scaffold = sub.add_parser("new-report", help="create raw/<report_id>/ from a document, with templates")
    scaffold.add_argument("report_id")
    scaffold.add_argument("source", help="the document as received (text)")
    scaffold.add_argument("--raw", help="folder of report folders (default: raw/)")
    show = sub.add_parser("summary", help="print what the published warehouse holds")
    show.add_argument("path", nargs="?", default=None)
    sub.add_parser("column-schemas", help="regenerate pipeline/column_schemas.json from the pandera models")
    args = parser.parse_args(argv)
    if args.command == "refresh":
        return refresh(args.raw, args.warehouse, args.full)
    if args.command == "new-report":
        return new_report(args.report_id, args.source, args.raw)
    if args.command == "column-schemas":
        from pipeline.column_schemas import write
        print(f"wrote {write()}")
        return 0
    from pipeline.warehouse import Warehouse
    return summary(Path(args.path) if args.path else Warehouse().published_path)


# What a refresh imports, all of it long-lived: Dagster and the definitions, and the modules the asset
# bodies import when they run (pandas, pandera and DuckDB through them).
RUN_MODULES = ("pipeline.definitions", "pipeline.instance", "pipeline.raw_reports", "pipeline.validation",
               "pipeline.report_checks", "pipeline.tables", "pipeline.changes")


def run_as_program(argv: list[str] | None = None) -> int:
    """`python -m pipeline`: one command in a process of its own, with Python's cyclic garbage collector
    kept off what lives until exit. The modules a refresh imports make about 250,000 objects that are
    never garbage; every full collection walked them all again (0.4-0.7 s of a one-report refresh), and
    so did the collection at interpreter exit (0.4-0.8 s). They are imported with the collector off
    and moved to its permanent generation (gc.freeze); objects made afterwards are collected as usual.
    When the command is done (every connection and file closed), what remains is frozen too, so exit
    does not walk the heap. Only for this process: importing pipeline.__main__ changes nothing."""
    import importlib

    gc.disable()
    try:
        if (sys.argv[1:] if argv is None else argv)[:1] == ["refresh"]:
            for module in RUN_MODULES:
                importlib.import_module(module)
        gc.freeze()
    finally:
        gc.enable()
    try:
        return main(argv)
    finally:
        gc.freeze()


if __name__ == "__main__":
    sys.exit(run_as_program())
