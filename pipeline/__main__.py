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
import re
import sys
import uuid
from pathlib import Path


def _ensure_dagster_home() -> Path:
    from pipeline.publish.warehouse import PROJECT_ROOT

    home = os.environ.get("DAGSTER_HOME") or str(PROJECT_ROOT / ".dagster_home")
    os.environ["DAGSTER_HOME"] = home
    Path(home).mkdir(parents=True, exist_ok=True)
    return Path(home)


SHOW_REPORTS = 20  # reports listed in full at the end of a refresh; the rest are counted


def summary(path: Path, out=sys.stdout) -> int:
    """Print what the published warehouse holds and, per report, every check that did not pass:
    reconciliation on the as-published values and on the best estimates, side by side."""
    import duckdb

    from pipeline.build.cross_checks import CROSS_REPORT_CHECKS
    from pipeline.build.queries import PUBLISHED
    from pipeline.validate.report_checks import AS_PUBLISHED, BEST_ESTIMATE, RECONCILIATION_CHECKS, REPORT_CHECKS

    TWO_BASES = {c.name for c in (*REPORT_CHECKS, *CROSS_REPORT_CHECKS) if len(c.bases) > 1}  # noqa: N806
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
        not_compared = con.execute("SELECT count(*) FROM validation_results WHERE status = 'not_compared'").fetchone()[0]
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
        print(f"\n{total_reports - failing_reports} report(s) fail no check", file=out)
    for report_id, published_on in shown:
        print(f"\nreport {report_id} (published {published_on})", file=out)
        mine = by_report[report_id]
        for basis, label in ((AS_PUBLISHED, "as-published values"), (BEST_ESTIMATE, "best estimates")):
            failed = [r for r in mine if r[1] in RECONCILIATION_CHECKS and r[3] == basis and r[4] is False]
            names = ", ".join(r[1] for r in failed)
            print(f"  reconciliation on its {label}: "
                  + (f"{len(failed)} warning(s): {names}" if failed else "no warnings"), file=out)
            for _, check_name, severity, _, _, message in failed:
                print(f"    [{severity}] {check_name}: {message}", file=out)
        other = [r for r in mine if r[1] not in RECONCILIATION_CHECKS and r[4] is False]
        for _, check_name, severity, basis, _, message in other:
            on = f" (on the {basis.replace('_', ' ')} values)" if check_name in TWO_BASES else ""
            print(f"  [{severity}] {check_name}{on}: {message}", file=out)
        n, cited, inferred = corrections.get(report_id, (0, 0, 0))
        print(f"  corrections: {n} figure(s) corrected ({cited} cited, {inferred} inferred); "
              "best estimates are in channels.income_usd and the deficit's *_usd columns", file=out)
    if failing_reports > len(shown):
        print(f"\n... and {failing_reports - len(shown)} more report(s) with checks that did not pass", file=out)
    print(f"\n{failed_total} check row(s) did not pass; all are in validation_results (where not passed)", file=out)
    print(f"{not_compared} check row(s) had nothing to compare (where status = 'not_compared')", file=out)
    return 0


def refresh(raw: str | None = None, warehouse: str | None = None, full: bool = False) -> int:
    home = _ensure_dagster_home()
    from pipeline.definitions import defs
    from pipeline.defs.instance import refresh_instance
    from pipeline.defs.jobs import REFRESH_JOB
    from pipeline.defs.run_liveness import fail_runs_of_dead_processes, process_tag
    from pipeline.publish.warehouse import Warehouse

    # the folder resolved, not the file: the published file is a link into the published release (pipeline.publish.release)
    warehouse = str(Path(warehouse).parent.resolve() / Path(warehouse).name) if warehouse else None
    published = Warehouse(path=warehouse).published_path if warehouse else Warehouse().published_path
    with refresh_instance() as instance:
        for run_id in fail_runs_of_dead_processes(instance):
            print(f"Dagster run {run_id} was left unfinished by a refresh that was killed: marked failed")
        job = defs.resolve_job_def(REFRESH_JOB)
        # Dagster's console logger would print every failure again with its stack trace (three times): the
        # terminal gets each problem once, below; the stack traces stay in the run's event log for the UI.
        run_config: dict = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
        resources = {}
        if raw:
            resources["raw"] = {"config": {"path": str(Path(raw).resolve())}}
        if warehouse or full:
            resources["warehouse"] = {"config": {
                **({"path": warehouse} if warehouse else {}),
                **({"build_from_nothing": True} if full else {})}}
        if resources:
            run_config["resources"] = resources
        run_id = str(uuid.uuid4())
        result = job.execute_in_process(instance=instance, raise_on_error=False, run_config=run_config, run_id=run_id,
                                        tags=process_tag(run_id))
        print(f"\nDagster run {result.run_id} ({'succeeded' if result.success else 'FAILED'}); "
              f"DAGSTER_HOME={home}; see it with `make dev`")
        failed_checks = [e for e in result.get_asset_check_evaluations() if not e.passed]
        blocking = [e for e in failed_checks if e.severity.value == "ERROR" and "details" in e.metadata]
        for evaluation in failed_checks:
            if evaluation in blocking and not result.success:
                continue  # stated with its problems below
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
                    error = event.step_failure_data.error
                    if error.cls_name == "DagsterAssetCheckFailedError" and blocking:
                        print(f"\nstep {event.step_key} failed:\n" + blocking_check_problems(blocking))
                    else:
                        print(f"\nstep {event.step_key} failed:\n{error.cls_name}: {error.message.strip()}\n"
                              f"(the stack trace is in the run's log: `make dev`, run {result.run_id})")
            skipped = [e.step_key for e in result.all_events if e.is_step_skipped]
            if skipped:
                print(f"not run because an upstream step or blocking check failed: {', '.join(skipped)}")
            print(f"\nnothing was published; {published} is as it was.")
            return 1
    print()
    return summary(published)


def blocking_check_problems(evaluations) -> str:
    """The located problems of the blocking checks that failed, each once: a problem found in two tables
    (two figures that make one row of `channels` and of `latest_channels`) is stated for the first."""
    lines: dict[str, str] = {}
    for evaluation in evaluations:
        details = str(evaluation.metadata["details"].value)
        for line in details.splitlines():
            line = line.removeprefix("- ")
            head = line.split(": found ", 1)[0]
            key = re.sub(r" \(table \w+, row \d+\).*", "", head) if "(table " in head else line  # the figure
            lines.setdefault(key, line)
    names = ", ".join(e.asset_check_key.name for e in evaluations)
    return "\n".join([f"{len(lines)} problem(s) found by the blocking check(s) {names}; nothing was published:",
                      *(f"  - {line}" for line in lines.values())])


def new_report(report_id: str, source: str, raw: str | None = None, published_on: str | None = None) -> int:
    """Create the draft raw/_drafts/<report_id>/ from a document (pipeline.draft.drafts)."""
    from pipeline.draft.drafts import DraftRefused, create_draft
    from pipeline.publish.warehouse import RawReportsDir

    raw_dir = Path(raw) if raw else RawReportsDir().resolved
    try:
        day = _date_argument(published_on)
        made = create_draft(raw_dir, report_id, Path(source), day)
    except DraftRefused as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    print(f"created the draft {made.folder}/ with {made.source_name} (sha256 {made.sha256[:12]}...), report.toml "
          f"and figures.toml ({made.figures} figure(s) drafted).\n"
          "A draft is not published: check every figure against the document, replace every TODO, then run "
          f"`make ready ID={report_id}`.")
    return 0


def _date_argument(text: str | None):
    import datetime

    from pipeline.draft.drafts import DraftRefused

    if not text:
        return None
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise DraftRefused(f"--published-on {text!r} is not a date such as 2024-09-03") from None


def draft_figures(document: str, published_on: str | None) -> int:
    """Print a figures.toml drafted from a document."""
    from pipeline.draft.drafting import draft_file
    from pipeline.draft.drafts import DraftRefused

    try:
        day = _date_argument(published_on)
    except DraftRefused as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    text, count, problems = draft_file(Path(document), day)
    if text is None:
        for problem in problems:
            print(f"refused: {problem}", file=sys.stderr)
        return 2
    sys.stdout.write(text)
    if not count:
        print(f"no figure found in {document}", file=sys.stderr)
        return 1
    return 0


def ready(report_id: str, raw: str | None = None) -> int:
    """Check a draft with the real loader and move it into raw/ (pipeline.draft.drafts.make_ready)."""
    from pipeline.core.errors import RawReportError
    from pipeline.draft.drafts import DraftRefused, make_ready
    from pipeline.publish.warehouse import RawReportsDir

    raw_dir = Path(raw) if raw else RawReportsDir().resolved
    try:
        target = make_ready(raw_dir, report_id)
    except DraftRefused as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    except RawReportError as exc:
        print(f"{exc}\nThe draft stays where it is; fix these and run `make ready ID={report_id}` again.", file=sys.stderr)
        return 1
    print(f"moved the draft to {target}/; the next refresh publishes it (`make warehouse`, or the sensor under "
          "`make dev`).")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("refresh", help="run the main job and publish the warehouse")
    run.add_argument("--raw", help="folder of report folders (default: raw/)")
    run.add_argument("--warehouse", help="published DuckDB file (default: warehouse/illicit_income.duckdb)")
    run.add_argument("--full", action="store_true",
                     help="build from nothing: read every report folder again (no report cache) and build every "
                          "table from nothing (no record of the published file)")
    scaffold = sub.add_parser("new-report", help="create the draft raw/_drafts/<report_id>/ from a document")
    scaffold.add_argument("report_id")
    scaffold.add_argument("source", help="the document as received (text)")
    scaffold.add_argument("--raw", help="folder of report folders (default: raw/)")
    scaffold.add_argument("--published-on", help="the document's date (YYYY-MM-DD), if you know it")
    drafter = sub.add_parser("draft-figures", help="print a figures.toml drafted from a document")
    drafter.add_argument("document")
    drafter.add_argument("--published-on", help="the document's date (YYYY-MM-DD): resolves 'last year' and the like")
    finish = sub.add_parser("ready", help="check the draft raw/_drafts/<report_id>/ and move it into raw/")
    finish.add_argument("report_id")
    finish.add_argument("--raw", help="folder of report folders (default: raw/)")
    show = sub.add_parser("summary", help="print what the published warehouse holds")
    show.add_argument("path", nargs="?", default=None)
    sub.add_parser("column-schemas", help="regenerate pipeline/validate/column_schemas.json from the pandera models")
    hashes = sub.add_parser("hash-evidence", help="record the sha256 of each evidence file in corrections.toml")
    hashes.add_argument("folder", help="the report folder, raw/<report-id>")
    args = parser.parse_args(argv)
    if args.command == "refresh":
        return refresh(args.raw, args.warehouse, args.full)
    if args.command == "new-report":
        return new_report(args.report_id, args.source, args.raw, args.published_on)
    if args.command == "draft-figures":
        return draft_figures(args.document, args.published_on)
    if args.command == "ready":
        return ready(args.report_id, args.raw)
    if args.command == "hash-evidence":
        from pipeline.read.evidence import main as hash_evidence
        return hash_evidence(args.folder)
    if args.command == "column-schemas":
        from pipeline.validate.column_schemas import write
        print(f"wrote {write()}")
        return 0
    from pipeline.publish.warehouse import Warehouse
    return summary(Path(args.path) if args.path else Warehouse().published_path)


# What a refresh imports, all of it long-lived: Dagster and the definitions, and the modules the asset
# bodies import when they run (pandas, pandera and DuckDB through them).
RUN_MODULES = ("pipeline.definitions", "pipeline.defs.instance", "pipeline.read.raw_reports", "pipeline.validate.validation",
               "pipeline.validate.report_checks", "pipeline.build.tables", "pipeline.build.changes")


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
