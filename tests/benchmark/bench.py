"""How refresh cost grows with the number of reports, against a bare floor. A benchmark, not a test.

For N in SIZES it generates a synthetic raw/ tree (tests/benchmark/generate.py), then alternately runs
the floor (tests/benchmark/floor.py) and the real main job (`python -m pipeline refresh`, the code path
of `make warehouse`), each in a fresh process, REPEATS times, and reports medians of wall seconds, CPU
seconds and peak resident memory, milliseconds per report and rows published, with the ratio
pipeline / floor. It also times loading the Dagster definitions against a bare `import dagster`, a
refresh after adding one report to the largest tree, the time from saving a new report folder to the
published file holding it under `dagster dev` (unless --skip-dev), and (unless --skip-tests) the test suite.

    make bench                      # or: .venv/bin/python tests/benchmark/bench.py [--sizes 1 100] [--repeats 3]

Results: tests/benchmark/results.json (and printed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(ROOT))
from generate import generate, write_report  # noqa: E402

from pipeline.build.queries import PUBLISHED  # noqa: E402
from tests.helpers import free_port, instance_at, process_group, project_copy  # noqa: E402

SIZES = (1, 100, 1000, 5000)
TARGETS = {
    "ratio_5000_max": 1.5, "wall_5000_max_s": 30.0, "peak_rss_5000_max_mb": 1024.0, "growth_5000_over_1000_max": 5.5,
    "ratio_1_max": 3.0, "definitions_over_import_dagster_max_s": 0.5, "incremental_over_full_max": 0.25,
    "dev_saved_to_published_median_max_s": 10.0,
}
DEV_REPORTS = 5  # report folders saved one after another under dagster dev


def measure(cmd: list[str], env: dict | None = None) -> dict:
    """Wall and CPU seconds and peak RSS (MB) of one process and the children it waited for."""
    # output goes to files, not pipes: nobody reads a pipe while we wait, and a full one would block the run
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=stdout, stderr=stderr, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        stdout.seek(0)
        stderr.seek(0)
        out, err = stdout.read(), stderr.read()
    returncode = os.waitstatus_to_exitcode(status)
    if returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {returncode}:\n{out[-2000:]}\n{err[-2000:]}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": usage.ru_maxrss / 1024,
            "stdout": out}


def rows_published(path: Path) -> int:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return sum(con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in PUBLISHED)
    finally:
        con.close()


def content_digest(path: Path) -> str:
    """A digest of every table's content, to compare an incremental result with a full rebuild."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        parts = [str(con.execute(f'SELECT count(*), sum(hash(t)) FROM (SELECT * FROM "{name}") AS t').fetchone())
                 for name in PUBLISHED]
    finally:
        con.close()
    return "|".join(parts)


def median_of(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def pipeline_cmd(raw: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "pipeline", "refresh", "--raw", str(raw), "--warehouse", str(out)]


def bench_size(n: int, work: Path, repeats: int, env: dict) -> dict:
    raw = work / f"raw-{n}"
    if not raw.exists():
        generate(raw, n)
    floor_runs, pipeline_runs = [], []
    for _ in range(repeats):
        floor_out = work / f"floor-{n}.duckdb"
        floor_runs.append(measure([sys.executable, str(HERE / "floor.py"), str(raw), str(floor_out)]))
        out = work / f"wh-{n}" / "illicit_income.duckdb"
        if out.parent.exists():
            shutil.rmtree(out.parent)
        pipeline_runs.append(measure(pipeline_cmd(raw, out), env))
    rows = rows_published(work / f"wh-{n}" / "illicit_income.duckdb")
    result = {"n": n, "rows_published": rows}
    for name, runs in (("floor", floor_runs), ("pipeline", pipeline_runs)):
        result[name] = {k: round(median_of(runs, k), 3) for k in ("wall_s", "cpu_s", "peak_rss_mb")}
        result[name]["ms_per_report"] = round(1000 * result[name]["wall_s"] / n, 2)
        result[name]["runs_wall_s"] = [round(r["wall_s"], 3) for r in runs]
    result["ratio_pipeline_over_floor"] = round(result["pipeline"]["wall_s"] / result["floor"]["wall_s"], 3)
    return result


def bench_incremental(n: int, work: Path, repeats: int, env: dict) -> dict:
    """Add one report to the tree of n, as a person adds a folder to raw/, and refresh the published
    warehouse of the last full refresh of n; then remove it and refresh again (not timed), `repeats`
    times. Alternately, rebuild the tree with the report from nothing into another file; compare the
    medians, and the content of each incremental result with a rebuild from nothing."""
    import datetime
    import random

    raw = work / f"raw-{n}"
    added = raw / "series-9999-ed0"
    out = work / f"wh-{n}" / "illicit_income.duckdb"  # the last full refresh of n, its report cache included
    full_out = work / f"wh-{n}-full" / "illicit_income.duckdb"
    incremental_runs, full_runs, methods, identical = [], [], [], True
    for i in range(repeats):
        write_report(added, random.Random(1), "series-9999", 0, datetime.date(2024, 5, 5))
        incremental_runs.append(measure(pipeline_cmd(raw, out), env))
        methods.append(build_method(out))
        if full_out.parent.exists():
            shutil.rmtree(full_out.parent)
        full_runs.append(measure(pipeline_cmd(raw, full_out), env))
        identical &= content_digest(out) == content_digest(full_out)
        shutil.rmtree(added)
        if i < repeats - 1:
            measure(pipeline_cmd(raw, out), env)  # back to n reports (itself an incremental refresh)
    incremental, full = median_of(incremental_runs, "wall_s"), median_of(full_runs, "wall_s")
    return {"n": n, "incremental_wall_s": round(incremental, 3), "full_wall_s": round(full, 3),
            "ratio": round(incremental / full, 3), "methods": methods,
            "incremental_runs_wall_s": [round(r["wall_s"], 3) for r in incremental_runs],
            "full_runs_wall_s": [round(r["wall_s"], 3) for r in full_runs],
            "identical_to_full_rebuild": identical}


def build_method(path: Path) -> str:
    """How the published file was built (schema build), with how many reports were rebuilt."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        method, rebuilt = con.execute("SELECT method, reports_rebuilt FROM build.info").fetchall()[0]
    finally:
        con.close()
    return f"{method}, {rebuilt} rebuilt"


def _reports_in(path: Path) -> set[str]:
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:  # not there yet, or being replaced
        return set()
    try:
        return {r[0] for r in con.execute("SELECT report_id FROM reports").fetchall()}
    finally:
        con.close()


def _wait_for_report(published: Path, report_id: str, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if published.exists() and report_id in _reports_in(published):
            return time.monotonic()
        time.sleep(0.1)
    raise RuntimeError(f"{report_id} not published within {timeout} s")


def bench_dev(work: Path, reports: int = DEV_REPORTS) -> dict:
    """`dagster dev` (webserver, daemon, code server) on a copy of the project, as `make dev` starts it
    after `make warehouse`: the published file is current, so starting starts no run. Then `reports` report
    folders are saved into raw/ one after another (each written beside raw/ and moved in, as a person saves
    a folder), and each is timed from the save to the published file holding it; the run's own record
    splits that into the sensor's detection, the queue and the launch, and the run."""
    import datetime
    import random

    project = project_copy(work / "dev-project")
    home = work / "dev-dagster-home"
    home.mkdir()
    shutil.copy(ROOT / "pipeline" / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONPATH": str(project)}
    published = project / "warehouse" / "illicit_income.duckdb"
    subprocess.run([sys.executable, "-m", "pipeline", "refresh"], cwd=project, env=env, check=True,
                   capture_output=True)  # `make warehouse`
    port = free_port()
    dagster = str(Path(sys.executable).parent / "dagster")
    saved_to_published, detected, queued, ran = [], [], [], []
    with process_group([dagster, "dev", "-m", "pipeline.definitions", "--port", str(port)], project, env,
                       work / "dagster-dev.log"), instance_at(home) as instance:
        time.sleep(40)  # started: webserver, daemon and code server up, the sensor's first tick done
        runs_at_start = len(instance.get_run_records()) - 1  # the refresh above made one
        rng = random.Random(11)
        for i in range(reports):
            report_id = f"dev-bench-{i}-ed0"
            draft = work / f"draft-{i}"
            write_report(draft, rng, f"dev-bench-{i}", 0, datetime.date(2025, 1, 1 + i))
            saved = time.monotonic()
            saved_wall = time.time()
            draft.rename(project / "raw" / report_id)
            done = _wait_for_report(published, report_id, timeout=300)
            saved_to_published.append(done - saved)
            record = instance.get_run_records(limit=1)[0]
            detected.append(record.create_timestamp.timestamp() - saved_wall)
            queued.append(record.start_time - record.create_timestamp.timestamp())
            ran.append(saved_wall + saved_to_published[-1] - record.start_time)
            time.sleep(1)
    terminal = (work / "dagster-dev.log").read_text(errors="replace").splitlines()
    return {"reports": reports, "runs_started_by_starting_dev": runs_at_start,
            "saved_to_published_median_s": round(statistics.median(saved_to_published), 2),
            "saved_to_published_s": [round(x, 2) for x in saved_to_published],
            "sensor_detection_median_s": round(statistics.median(detected), 2),
            "queue_and_launch_median_s": round(statistics.median(queued), 2),
            "run_to_published_median_s": round(statistics.median(ran), 2),
            "terminal_lines": len(terminal), "terminal_debug_lines": sum(" - DEBUG - " in line for line in terminal)}


def bench_imports(repeats: int = 5) -> dict:
    def timed(code: str) -> float:
        return statistics.median(
            float(subprocess.run([sys.executable, "-c", f"import time; t = time.perf_counter(); {code}; "
                                  "print(time.perf_counter() - t)"], cwd=ROOT, capture_output=True, text=True,
                                 check=True).stdout) for _ in range(repeats))
    dagster = timed("import dagster")
    definitions = timed("import pipeline.definitions")
    return {"import_dagster_s": round(dagster, 3), "load_definitions_s": round(definitions, 3),
            "definitions_over_import_dagster_s": round(definitions - dagster, 3)}


def bench_tests() -> dict:
    started = time.perf_counter()
    # what CI runs, from the set-up .venv this benchmark runs in: its setup is then a check that changes nothing
    # (until 2026-11-30 this timed pytest alone, as make_test_without_setup_s)
    proc = subprocess.run(["make", "test"], cwd=ROOT, capture_output=True, text=True)
    return {"make_test_s": round(time.perf_counter() - started, 1), "exit_code": proc.returncode,
            "summary": proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""}


def verdicts(results: dict) -> dict:
    sizes = {r["n"]: r for r in results["sizes"]}
    out = {}
    if 5000 in sizes:
        big = sizes[5000]
        out["ratio_5000"] = (big["ratio_pipeline_over_floor"], big["ratio_pipeline_over_floor"] <= TARGETS["ratio_5000_max"])
        out["wall_5000_s"] = (big["pipeline"]["wall_s"], big["pipeline"]["wall_s"] < TARGETS["wall_5000_max_s"])
        out["peak_rss_5000_mb"] = (big["pipeline"]["peak_rss_mb"],
                                   big["pipeline"]["peak_rss_mb"] < TARGETS["peak_rss_5000_max_mb"])
        if 1000 in sizes:
            growth = big["pipeline"]["wall_s"] / sizes[1000]["pipeline"]["wall_s"]
            out["growth_5000_over_1000"] = (round(growth, 2), growth <= TARGETS["growth_5000_over_1000_max"])
    if 1 in sizes:
        out["ratio_1"] = (sizes[1]["ratio_pipeline_over_floor"], sizes[1]["ratio_pipeline_over_floor"] <= TARGETS["ratio_1_max"])
    if results.get("imports"):
        imports = results["imports"]["definitions_over_import_dagster_s"]
        out["definitions_over_import_dagster_s"] = (imports, imports <= TARGETS["definitions_over_import_dagster_max_s"])
    if results.get("dev"):
        median = results["dev"]["saved_to_published_median_s"]
        out["dev_saved_to_published_median_s"] = (median, median <= TARGETS["dev_saved_to_published_median_max_s"]
                                                   and results["dev"]["runs_started_by_starting_dev"] == 0)
    if results.get("incremental"):
        inc = results["incremental"]
        out["incremental_over_full"] = (inc["ratio"], inc["ratio"] <= TARGETS["incremental_over_full_max"]
                                        and inc["identical_to_full_rebuild"])
    return {k: {"value": v, "met": ok} for k, (v, ok) in out.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-tests", action="store_true")
    parser.add_argument("--skip-dev", action="store_true", help="leave out the dagster dev case (about 2 minutes)")
    parser.add_argument("--dev-only", action="store_true",
                        help="only the dagster dev case (results in results-dev.json unless --out)")
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    args = parser.parse_args()
    if args.dev_only:
        args.sizes, args.skip_tests = [], True
        if args.out == HERE / "results.json":
            args.out = HERE / "results-dev.json"
    with tempfile.TemporaryDirectory(prefix="illicit-income-bench-") as tmp:
        work = Path(tmp)
        home = work / "dagster_home"
        home.mkdir()
        shutil.copy(ROOT / "pipeline" / "dagster.yaml", home / "dagster.yaml")  # the instance `make warehouse` uses
        env = {**os.environ, "DAGSTER_HOME": str(home)}
        results: dict = {"machine": {"cores": os.cpu_count(), "memory_gb": round(
            os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1), "python": platform.python_version(),
            "platform": platform.platform()}, "repeats": args.repeats, "sizes": []}
        for n in args.sizes:
            result = bench_size(n, work, args.repeats, env)
            results["sizes"].append(result)
            print(f"N={n:>5}: pipeline {result['pipeline']['wall_s']:7.2f} s wall, {result['pipeline']['cpu_s']:7.2f} s cpu, "
                  f"{result['pipeline']['peak_rss_mb']:6.0f} MB, {result['pipeline']['ms_per_report']:8.2f} ms/report | "
                  f"floor {result['floor']['wall_s']:6.2f} s, {result['floor']['peak_rss_mb']:5.0f} MB | "
                  f"ratio {result['ratio_pipeline_over_floor']:.2f} | rows {result['rows_published']}", flush=True)
        largest = max(args.sizes, default=0)
        if largest >= 100:
            results["incremental"] = bench_incremental(largest, work, args.repeats, env)
            print(f"one report added to N={largest}: {results['incremental']}", flush=True)
        if not args.dev_only:
            results["imports"] = bench_imports()
            print(f"definitions: {results['imports']}", flush=True)
        if not args.skip_dev:
            results["dev"] = bench_dev(work)
            print(f"dagster dev, a report folder saved -> published: {results['dev']}", flush=True)
        if not args.skip_tests:
            results["tests"] = bench_tests()
            print(f"tests: {results['tests']}", flush=True)
        results["targets"] = TARGETS
        results["verdicts"] = verdicts(results)
    for name, verdict in results["verdicts"].items():
        print(f"  {'met   ' if verdict['met'] else 'MISSED'} {name}: {verdict['value']}")
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
