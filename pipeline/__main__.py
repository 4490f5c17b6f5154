"""Command line: `python -m pipeline refresh` (what `make warehouse` runs) and `python -m pipeline summary`.

`refresh` runs the Dagster job `refresh_warehouse` in this process against the project's persistent
Dagster instance (DAGSTER_HOME), so its runs show in `dagster dev`'s run history, then prints where the
warehouse is, what it holds, and every check that did not pass. Exit status 1 if the run failed; the
published file is then exactly as it was.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pipeline.warehouse import PROJECT_ROOT, TABLES


def _ensure_dagster_home() -> Path:
    home = os.environ.get("DAGSTER_HOME") or str(PROJECT_ROOT / ".dagster_home")
    os.environ["DAGSTER_HOME"] = home
    Path(home).mkdir(parents=True, exist_ok=True)
    return Path(home)


def summary(path: Path, out=sys.stdout) -> int:
    """Print what the published warehouse holds and the checks in it that did not pass."""
    import duckdb

    if not path.exists():
        print(f"no warehouse at {path}", file=out)
        return 1
    con = duckdb.connect(str(path), read_only=True)
    try:
        print(f"warehouse: {path}", file=out)
        for table in TABLES:
            rows = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
            print(f"  {table:<20} {rows:>7} rows", file=out)
        reports = con.execute("SELECT report_id, published_on, publisher FROM reports ORDER BY published_on").fetchall()
        for report_id, published_on, publisher in reports:
            print(f"  report {report_id} ({published_on}, {publisher[:60]})", file=out)
        failed = con.execute(
            "SELECT report_id, check_name, severity, value_basis, message FROM validation_results "
            "WHERE NOT passed ORDER BY report_id, severity, check_name").fetchall()
    finally:
        con.close()
    if failed:
        print(f"checks that did not pass ({len(failed)}), published beside the data in validation_results:", file=out)
        for report_id, check_name, severity, basis, message in failed:
            print(f"  [{severity}] {report_id} {check_name} ({basis}): {message}", file=out)
    else:
        print("every check in validation_results passed", file=out)
    return 0


def refresh(raw: str | None = None, warehouse: str | None = None) -> int:
    home = _ensure_dagster_home()
    import dagster as dg

    from pipeline.definitions import defs
    from pipeline.jobs import REFRESH_JOB
    from pipeline.warehouse import Warehouse

    published = Warehouse(path=str(Path(warehouse).resolve())).published_path if warehouse else Warehouse().published_path
    with dg.DagsterInstance.get() as instance:
        job = defs.resolve_job_def(REFRESH_JOB)
        run_config: dict = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
        resources = {}
        if raw:
            resources["raw"] = {"config": {"path": str(Path(raw).resolve())}}
        if warehouse:
            resources["warehouse"] = {"config": {"path": str(Path(warehouse).resolve())}}
        if resources:
            run_config["resources"] = resources
        result = job.execute_in_process(instance=instance, raise_on_error=False, run_config=run_config)
        print(f"\nDagster run {result.run_id} ({'succeeded' if result.success else 'FAILED'}); "
              f"DAGSTER_HOME={home}; see it with `make dev`")
        failed_checks = [e for e in result.get_asset_check_evaluations() if not e.passed]
        for evaluation in failed_checks:
            print(f"  asset check {evaluation.asset_check_key.to_user_string()} did not pass "
                  f"({evaluation.severity.value})")
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("refresh", help="run the main job and publish the warehouse")
    run.add_argument("--raw", help="folder of report folders (default: raw/)")
    run.add_argument("--warehouse", help="published DuckDB file (default: warehouse/illicit_income.duckdb)")
    show = sub.add_parser("summary", help="print what the published warehouse holds")
    show.add_argument("path", nargs="?", default=None)
    args = parser.parse_args(argv)
    if args.command == "refresh":
        return refresh(args.raw, args.warehouse)
    from pipeline.warehouse import Warehouse
    return summary(Path(args.path) if args.path else Warehouse().published_path)


if __name__ == "__main__":
    sys.exit(main())
