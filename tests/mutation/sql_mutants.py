"""A small mutator for the SQL files that build the published tables and views (mutmut mutates Python only).

Each mutant is one textual change to one statement of one pipeline/build/sql/*.sql file (comments left alone):
a comparison operator swapped, AND/OR swapped, a WHERE clause dropped, NOT removed, IS NULL/IS NOT NULL
swapped, min/max swapped, sum/count made the other, DISTINCT dropped, ASC/DESC swapped, + and - swapped,
a number constant changed, UNION ALL made UNION. For each mutant the tests that read that file's table
or view run against a scratch copy of the project holding the mutated file; a mutant survives when they
all pass. The tests run in a process forked from one that has imported pytest, pandas, DuckDB and
Dagster already, so a mutant costs its tests and not their imports; two mutants at a time (WORKERS), each
in its own scratch copy.

    python -m tests.mutation.sql_mutants [--list] [FILE_STEM ...]
"""

from __future__ import annotations

import gc
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SQL_DIR = ROOT / "pipeline" / "build" / "sql"
RESULTS = ROOT / ".mutation" / "sql-results.json"  # the last run's, for `python -m tests.mutation.run --report`

# Which tests read each file's table or view (by behaviour: the numbers published in it).
_TABLE_TESTS = ["tests/test_pipeline.py", "tests/test_published_numbers.py",
                "tests/test_silent_bugs.py::test_usd_thousand_without_a_scale_word_publishes_a_thousand_dollars_per_unit"]
_HISTORY_TESTS = ["tests/test_history.py::test_second_edition_latest_values_and_report_changes",
                  "tests/test_history.py::test_an_edition_of_another_series_is_not_paired_with_the_seed_series",
                  "tests/test_history.py::test_a_cyber_only_report_loads_beside_the_seed"]
# Three editions that state the same arms item, channel and deficit (one build, first: the cheapest): which is the latest.
_LATEST_TESTS = ["tests/test_published_numbers.py::test_latest_arms_are_those_of_the_latest_report",
                 "tests/test_published_numbers.py::test_latest_channels_are_those_of_the_latest_report",
                 "tests/test_published_numbers.py::test_the_latest_deficit_is_that_of_the_latest_report"]
# The views that compare sources: the module of test_sources.py that builds the seed and invented sources
# once through the real job (its refresh through the command line left out: its twins here build directly).
_SOURCES_TESTS = ["tests/test_source_comparisons_sql.py",  # the rules on hand-made tables first (milliseconds)
                  "tests/test_sources.py", "tests/test_strength_sources.py", "-k", "not incremental_refresh"]
TESTS_BY_FILE = {
    "reports": _TABLE_TESTS, "figures": _TABLE_TESTS, "channels": _TABLE_TESTS, "arms": _TABLE_TESTS,
    "deficit": _TABLE_TESTS, "validation_results": _TABLE_TESTS,
    # the matching rules on hand-made tables first (milliseconds), then the editions built through the real job
    "report_changes": ["tests/test_report_changes_matching.py", *_HISTORY_TESTS,
                       "tests/test_sources.py::test_report_changes_match_an_edition_on_the_period_that_overlaps_most"],
    # latest_channels' per-year figure, on the invented series' build (their periods of whole months and of days)
    "latest_channels": [*_LATEST_TESTS, *_HISTORY_TESTS,
                        "tests/test_strength_sources.py::test_latest_channels_average_per_year_over_whole_months_or_days",
                        "tests/test_strength_sources.py::test_latest_channels_counts_days_for_a_period_whole_at_one_end_only"],
    "latest_arms": [*_LATEST_TESTS, *_HISTORY_TESTS], "latest_deficit": [*_LATEST_TESTS, *_HISTORY_TESTS],
    "estimates": _SOURCES_TESTS, "source_comparisons": _SOURCES_TESTS, "source_agreement": _SOURCES_TESTS,
}

# (name, pattern, replacement): each match of the pattern, one at a time, gives one mutant.
_SWAP = {"<=": ">", ">=": "<", "<>": "=", "!=": "=", "<": ">=", ">": "<=", "=": "<>"}
OPERATORS: list[tuple[str, re.Pattern, object]] = [
    ("comparison", re.compile(r"(?<![<>!=|:])(<=|>=|<>|!=|<|>|=)(?![<>=])"), lambda m: _SWAP[m.group(1)]),
    ("and/or", re.compile(r"\b(AND|OR)\b(?! REPLACE)"), lambda m: "OR" if m.group(1) == "AND" else "AND"),
    ("drop WHERE", re.compile(r"\bWHERE\b"), "WHERE TRUE OR"),
    ("drop NOT", re.compile(r"\bNOT (?!NULL\b)"), ""),
    ("IS NULL", re.compile(r"\bIS (NOT )?NULL\b"), lambda m: "IS NULL" if m.group(1) else "IS NOT NULL"),
    ("min/max", re.compile(r"\b(min|max|MIN|MAX|least|greatest)\("),
     lambda m: {"min": "max", "max": "min", "MIN": "MAX", "MAX": "MIN", "least": "greatest",
                "greatest": "least"}[m.group(1)] + "("),
    ("aggregate", re.compile(r"\b(sum|SUM|count|COUNT)\("),
     lambda m: {"sum": "max", "SUM": "MAX", "count": "sum", "COUNT": "SUM"}[m.group(1)] + "("),
    ("drop DISTINCT", re.compile(r"\bDISTINCT\s+"), ""),
    ("ASC/DESC", re.compile(r"\b(ASC|DESC)\b"), lambda m: "DESC" if m.group(1) == "ASC" else "ASC"),
    ("arithmetic", re.compile(r"(?<=\s)([+-])(?=\s)"), lambda m: "-" if m.group(1) == "+" else "+"),
    ("constant", re.compile(r"(?<![\w.'])(\d+(?:\.\d+)?)(?![\w.'])"), lambda m: _other_number(m.group(1))),
    ("UNION ALL", re.compile(r"\bUNION ALL\b"), "UNION"),
]


def _other_number(text: str) -> str:
    return "1" if float(text) == 0 else "0"


@dataclass(frozen=True)
class Mutant:
    file: str  # stem of the .sql file
    line: int
    operator: str
    before: str
    after: str
    text: str  # the whole mutated file

    @property
    def name(self) -> str:
        return f"sql/{self.file}.sql:{self.line} {self.operator}: {self.before.strip()} -> {self.after.strip()}"


def _code_spans(text: str) -> list[tuple[int, int]]:
    """Spans of text outside comments and string literals, where operators apply."""
    spans, start, i = [], 0, 0
    while i < len(text):
        if text.startswith("--", i):
            spans.append((start, i))
            i = text.find("\n", i)
            i = len(text) if i < 0 else i
            start = i
        elif text[i] == "'":
            spans.append((start, i))
            i = text.find("'", i + 1) + 1 or len(text)
            start = i
        else:
            i += 1
    spans.append((start, len(text)))
    return [(a, b) for a, b in spans if b > a]


def _in_ddl(text: str, position: int) -> bool:
    """Inside a CREATE TABLE column list (types and constraints, not logic)."""
    statement_start = text.rfind(";", 0, position) + 1
    statement = text[statement_start:position]
    return bool(re.match(r"\s*(--[^\n]*\n\s*)*CREATE (OR REPLACE )?TABLE \w+ \(", statement)) and "INSERT" not in statement


def mutants(stems: list[str] | None = None) -> list[Mutant]:
    found = []
    for path in sorted(SQL_DIR.glob("*.sql")):
        if stems and path.stem not in stems:
            continue
        text = path.read_text(encoding="utf-8")
        for start, end in _code_spans(text):
            for name, pattern, replacement in OPERATORS:
                for match in pattern.finditer(text, start, end):
                    if _in_ddl(text, match.start()):
                        continue
                    after = replacement(match) if callable(replacement) else replacement
                    mutated = text[:match.start()] + after + text[match.end():]
                    line_start = text.rfind("\n", 0, match.start()) + 1
                    line_end = text.find("\n", match.start())
                    line = text[line_start:line_end if line_end >= 0 else None]
                    new_line = mutated[line_start:line_start + len(line) + len(after) - len(match.group(0))]
                    found.append(Mutant(path.stem, text.count("\n", 0, match.start()) + 1, name, line, new_line,
                                        mutated))
    return found


def scratch_copy() -> Path:
    scratch = Path(tempfile.mkdtemp(prefix="sql-mutants-"))
    for name in ("pipeline", "tests", "raw"):
        shutil.copytree(ROOT / name, scratch / name, ignore=shutil.ignore_patterns("__pycache__", "mutants"))
    shutil.copy(ROOT / "pyproject.toml", scratch / "pyproject.toml")
    return scratch


def _cpu_seconds(pid: int) -> float:
    """CPU time of a process and of its children it has waited for (user and system), from /proc."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime, stime, cutime, cstime


def _start_tests(tests: list[str], scratch: Path) -> int:
    """Fork a child that runs the tests in the scratch copy (quiet; it exits with pytest's status): its pid."""
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the scratch copies are the parent's to remove
        log = os.open(os.environ.get("SQL_MUTANTS_LOG", os.devnull), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.chdir(scratch)
        sys.path.insert(0, str(scratch))
        for name in [name for name in sys.modules if name == "tests" or name.startswith("tests.")]:
            del sys.modules[name]  # this package, imported from the project: the child imports the copy's
        import pytest

        os._exit(int(pytest.main(["-x", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", *tests])))
    return pid


@dataclass
class _Running:
    """A mutant's tests running in a child. The limit is on the child's CPU time, not on the clock: on a shared
    machine (or while another job has this one paused) a mutant's tests may wait a long time for a core without
    looping, and a limit on the clock would count them as killed. A child that waits on a lock forever uses no
    CPU: the clock stops it after ten times the limit."""
    pid: int
    timeout: float
    hung: float

    def status(self) -> str | None:
        """'killed', 'survived' or 'timeout' once decided (the child then reaped), else None."""
        done, wait_status = os.waitpid(self.pid, os.WNOHANG)
        if done:
            self.pid = 0
            return "survived" if os.waitstatus_to_exitcode(wait_status) == 0 else "killed"
        if _cpu_seconds(self.pid) > self.timeout or time.monotonic() > self.hung:
            self.stop()
            return "timeout"
        return None

    def stop(self) -> None:
        if self.pid:  # a timeout, or this run stopped: the child's tests (a Dagster run may ignore SIGTERM) go with it
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self.pid = 0


def _run_tests(tests: list[str], timeout: float, scratch: Path) -> str:
    """Run the tests in a forked child and wait: 'killed', 'survived' or 'timeout'."""
    child = _Running(_start_tests(tests, scratch), timeout, time.monotonic() + 10 * timeout)
    try:
        while (status := child.status()) is None:
            time.sleep(0.05)
        return status
    finally:
        child.stop()


# Mutants tested side by side, each in its own scratch copy: the machine has 2 cores.
WORKERS = 2


def run(stems: list[str] | None = None, out=sys.stdout, workers: int = WORKERS) -> tuple[int, int, list[str]]:
    """(killed, total, names of the surviving mutants), mutating scratch copies of the project."""
    found = mutants(stems)
    scratches = [scratch_copy() for _ in range(workers)]
    # a stopped run (`kill`, the end of a session) still removes its scratch copies: SIGTERM runs the finally below
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    import dagster  # noqa: F401  (imported once here, so that each forked child starts warm)
    import duckdb  # noqa: F401
    import pandas  # noqa: F401
    import pandera  # noqa: F401
    import pytest  # noqa: F401

    # each mutant's tests run in a fork of this process: frozen, the heap it holds is not scanned again by the
    # children's garbage collections (gc.freeze before fork, as the Python documentation advises; see
    # tests/mutation/attribution.py for what it saves)
    gc.freeze()
    originals = {path.name: path.read_text(encoding="utf-8")
                 for path in (scratches[0] / "pipeline" / "build" / "sql").glob("*.sql")}
    running: dict[int, tuple[Mutant, _Running, Path]] = {}  # by the index of its scratch copy
    try:
        baseline: dict[tuple[str, ...], float] = {}  # CPU seconds of each set of tests without a mutant
        for tests in {tuple(TESTS_BY_FILE[m.file]) for m in found}:
            started = _cpu_seconds(os.getpid())
            if _run_tests(list(tests), timeout=1800, scratch=scratches[0]) != "survived":
                raise SystemExit(f"the SQL mutants' tests fail without a mutant: {' '.join(tests)}")
            baseline[tests] = _cpu_seconds(os.getpid()) - started  # the child's, now waited for
        killed, survivors, decided = 0, [], 0
        waiting = list(found)
        while waiting or running:
            for index in [i for i in range(workers) if i not in running and waiting]:
                mutant = waiting.pop(0)
                path = scratches[index] / "pipeline" / "build" / "sql" / f"{mutant.file}.sql"
                path.write_text(mutant.text, encoding="utf-8")
                tests = TESTS_BY_FILE[mutant.file]
                timeout = max(60.0, 5 * baseline[tuple(tests)])
                running[index] = (mutant, _Running(_start_tests(tests, scratches[index]), timeout,
                                                   time.monotonic() + 10 * timeout), path)
            time.sleep(0.05)
            for index, (mutant, child, path) in list(running.items()):
                status = child.status()
                if status is None:
                    continue
                del running[index]
                path.write_text(originals[path.name], encoding="utf-8")
                decided += 1
                if status == "survived":
                    survivors.append(mutant.name)
                else:
                    killed += 1
                print(f"[{decided}/{len(found)}] {status:8} {mutant.name}", file=out, flush=True)
                # after each mutant, so that an interrupted run still reports what it measured
                RESULTS.parent.mkdir(exist_ok=True)
                RESULTS.write_text(json.dumps({"killed": killed, "total": decided, "of": len(found),
                                               "survivors": survivors}, indent=1))
        return killed, len(found), survivors
    finally:
        for _, child, _ in running.values():
            child.stop()
        for scratch in scratches:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--list"]:
        for m in mutants(args[1:] or None):
            print(m.name)
        raise SystemExit(0)
    killed, total, survivors = run(args or None)
    print(f"\nSQL: {killed} of {total} mutants killed ({killed / max(total, 1):.1%})")
    for name in survivors:
        print(f"  survived: {name}")
