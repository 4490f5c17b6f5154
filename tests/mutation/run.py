"""`make mutation`: mutation testing of the modules that decide a published number or protect the
published file (docs/mutation.md).

Python: mutmut 3 (fork per mutant from a warm process; each mutant runs only the tests that call the
function it changes). The modules are mutated in two groups, each in its own scratch copy of the
project under .mutation/ with the tests that exercise it: the loader group with the loader's fast
tests, the publish group with the tests that build and publish. SQL: tests/mutation/sql_mutants.py.
Prints the score per module and in all, and every surviving mutant (`mutmut show NAME` in the group's
folder shows its diff).

    python -m tests.mutation.run [GROUP ...]        groups: loader sources publish sql
    python -m tests.mutation.run --keep GROUP ...   after a change: only what it may have changed (below)
    python -m tests.mutation.run --report           the last run's results again
    python -m tests.mutation.run --costs            where the last run's time went: CPU seconds by function

--keep starts from the group's last run instead of from nothing: the copy takes the code and tests as they
are now, keeping mutmut's results, and only the mutants whose result may have changed are run: those of the
functions whose code changed (mutmut resets them by the function's hash), every survivor (a new or changed
test may kill it; mutmut collects which functions a new test calls), and any left unchecked by an
interrupted run. A kill is kept: a test that was weakened since is not seen (run without --keep for that).
"""

from __future__ import annotations

import ast
import codecs
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / ".mutation"
MUTMUT = Path(sys.executable).parent / "mutmut"

# Lines that only word a message for a person (a Problem's found/expected, an exception's text, a
# docstring) are not mutated: they decide no published number, and their XX-wrapped or upper-cased
# variants would outnumber the mutants that matter. The messages' content is asserted by the tests
# of bad input (they name folder, file, figure and field).
MESSAGE_LINES = [r"expected=", r"found=", r"Error\(f?\"", r"description=", r'^\s*f?"[^"]*"\)*,?$', r'^\s*\(?f"',
                 # raw_reports._check_correction's problem(field, found, expected), as Problem(..., found=...) lines
                 r"^\s*problem\(",
                 # SQL held in a Python string: mutmut cannot change its logic, only wrap it in XX (a syntax error
                 # any test that runs it catches) or change its case (which DuckDB ignores); the SQL mutator
                 # (tests/mutation/sql_mutants.py) mutates the logic of the .sql files
                 r"""^\s*(con\.execute\()?f?["'](CREATE|SELECT|INSERT|DELETE|BEGIN|COMMIT|ROLLBACK|ATTACH|DETACH|USE|UPDATE)\b""",
                 # a frame registered in DuckDB under a name: DuckDB reads the name and the frame's column names in any
                 # case, and a frame of strings as VARCHAR whatever its pandas dtype
                 r'^\s*with registered\(con, "']

# Functions whose mutants are not run: they only word a message for a person, or they run while the module
# is imported, before mutmut can switch a mutant on (so none of their mutants could ever be killed).
SKIPPED = {
    "raw_reports": ["_pydantic_problems", "_describe", "_quote_mismatch"],
    "validation": ["_check_label", "_show", "_currency_hint", "_check_columns"],
    "schemas": ["_field", "column_schema", "_passing_as_one"],
    "report_checks": ["_records"],
}

# Each group's tests: the fast ones that call its functions directly, plus the few whole builds (a Dagster
# run, seconds each) that its functions need to be seen publishing. A mutant's tests run fastest first
# (tests/mutation/attribution.py) and stop at the first failure, so a whole build costs only the mutants that
# survive the fast ones.
# Refreshes through the command line or a second process are left out (their direct twins are kept).
GROUPS = {
    "loader": {
        "modules": ["raw_reports", "text", "vocabulary", "schemas", "validation", "report_checks"],
        "tests": ["tests/test_raw_loading.py", "tests/test_reconciliation.py", "tests/test_corrections.py",
                  "tests/test_silent_bugs.py", "tests/test_published_numbers.py", "tests/test_refusals.py",
                  "tests/test_verdicts.py", "tests/test_strength_loader.py",
                  # validate_table on tables the build's SQL makes from the seed, without a Dagster run (milliseconds)
                  "tests/test_validate_table.py",
                  # the schemas' checks by distinct value against their row-by-row definition; validate_raw's locations
                  "tests/test_schema_checks.py",
                  # value, unit and value_text read and compared directly (what the group's builds decided until 2026-11-30)
                  "tests/test_strength_values.py",
                  "-k", "not fix_to_the_code and not re_executing and not staging_file and not stops_the_refresh"
                        " and not usd_thousand_without and not fails_the_build_and_keeps",
                  # Builds through the job, left out: every survivor of the loader's functions ran them all (about 15
                  # CPU-seconds a survivor), and of the 1,155 kills of the loader's second run they made 7, each now
                  # made by a direct test (tests/test_strength_loader.py, tests/test_validate_table.py).
                  *[arg for test in (
                      *[f"tests/test_corrections.py::test_{name}" for name in (
                          "published_channels_hold_best_beside_as_published", "published_deficit_holds_best_beside_as_published",
                          "published_arms_are_uncorrected", "published_figures_carry_the_citation_and_the_reasoning",
                          "published_validation_results_show_both_bases",
                          "reconciliation_asset_checks_warn_on_as_published_and_pass_on_best")],
                      *[f"tests/test_published_numbers.py::test_{name}" for name in (
                          "a_report_without_corrections_publishes_its_deficit_as_stated",
                          "one_corrected_trade_figure_makes_the_deficit_corrected",
                          "a_total_of_another_period_is_not_compared_with_the_deficit",
                          "trade_figures_of_different_periods_make_no_deficit_row",
                          "the_deficit_identity_compares_the_implied_income_with_the_total_of_the_same_period",
                          "the_deficit_identity_pairs_only_figures_of_the_same_period",
                          "latest_arms_are_those_of_the_latest_report", "latest_channels_are_those_of_the_latest_report",
                          "the_latest_deficit_is_that_of_the_latest_report")],
                      "tests/test_verdicts.py::test_two_values_for_one_thing_publish_with_a_located_warning",
                  ) for arg in ("--deselect", test)]],
    },
    "sources": {
        "modules": ["cross_checks"],
        "tests": ["tests/test_sources.py", "tests/test_strength_sources.py", "-k", "not incremental_refresh"],
    },
    "publish": {
        "modules": ["warehouse", "tables", "report_cache", "release"],
        # Nearly every test here refreshes, so it runs for nearly every mutant of these modules, and a survivor runs
        # them all: the selection is kept to the tests that decide something the others do not, without Dagster
        # runs. test_tables.py's tests with the job's steps called directly (via_steps, tests.helpers.refresh_directly,
        # half the time of the job); the whole-job tests of the same behaviour (test_report_cache.py's, the
        # re-executed publish step of test_silent_bugs.py, test_pipeline.py's) run in `make test`, and their direct
        # twins are here (test_strength_publish.py: the report cache made again, the cached figure count).
        "tests": ["tests/test_strength_publish.py", "tests/test_strength_report_cache.py", "tests/test_tables.py",
                  "tests/test_report_cache.py",
                  "tests/test_silent_bugs.py",
                  # the release switch called directly (test_publish_atomic.py kills refreshes: minutes), and which
                  # files the code version digests (report_cache.code_files)
                  "tests/test_strength_release.py", "tests/test_layout.py::test_the_code_version_covers_every_room",
                  "tests/test_layout.py::test_a_change_in_any_room_changes_the_code_version",
                  # warehouse._compact_if_sparse: a published file of another block size or mostly free, rewritten
                  "tests/test_compact.py",
                  "tests/test_pipeline.py::test_first_build_with_a_broken_report_leaves_no_file",
                  "-k", "not fix_to_the_code and not scale and not usd_thousand and not via_job and not re_executing"
                        # test_tables.py's fallbacks whose reason is the Plan's alone, decided directly in
                        # test_strength_publish.py on build records the real writer wrote
                        " and not without_schema_build and not build_record_of_another_layout_is_not and not code_change_builds"
                        " and not more_than_the_max_share and not max_share_of_zero",
                  *[arg for name in (
                      "an_unchanged_raw_dir_reads_no_report_and_publishes_the_same_tables",
                      "added_edited_and_removed_reports_give_what_a_rebuild_from_nothing_gives",
                      "a_broken_edit_is_refused_and_the_cache_keeps_the_last_good_rows",
                      "a_code_change_invalidates_every_cached_report", "a_damaged_cache_costs_a_full_refresh_and_nothing_else",
                      "a_corrupted_cache_block_costs_a_full_refresh_and_nothing_else",
                      "a_staging_file_that_failed_its_checks_is_never_published",
                      "the_table_check_validates_the_rows_a_build_wrote",
                      "a_table_check_on_some_rows_finds_duplicates_across_all_rows",
                      "validation_in_chunks_finds_what_a_whole_frame_validation_finds",
                  ) for arg in ("--deselect", f"tests/test_report_cache.py::test_{name}")],
                  # The slowest refreshes (3 to 4 s each) that were the first to kill none of the 868 mutants the
                  # seventh measurement checked (docs/mutation.md): each mutant they reach was killed by a faster
                  # test, while every survivor ran them all (31 of its 40 CPU-s). They run in `make test`.
                  *[arg for test in (
                      *[f"tests/test_tables.py::test_{name}" for name in (
                          "only_the_pairs_that_touch_a_changed_series_are_computed_again",
                          "an_added_report_that_fails_a_blocking_check_publishes_nothing_until_fixed",
                          "an_edited_report_gives_what_a_rebuild_from_nothing_gives",
                          "adding_a_report_writes_its_rows_and_its_series_changes_only",
                          "up_to_the_max_share_of_changed_folders_is_still_incremental",
                          "a_report_moved_to_another_series_rebuilds_both_series", "a_removed_report_leaves_every_table",
                          "a_write_ahead_log_beside_the_published_file_builds_from_nothing",
                          "an_incremental_result_opens_in_the_duckdb_cli")],
                      "tests/test_silent_bugs.py::test_a_staging_file_that_passed_is_published",
                  ) for arg in ("--deselect", test)]],
    },
}
# Mutants run side by side per group (mutmut's --max-children): the machine has 2 cores.
MAX_CHILDREN = 2


def _module_path(module: str) -> str:
    """A module's path under pipeline/ without .py, e.g. 'read/raw_reports' (the modules live in step folders)."""
    [path] = (ROOT / "pipeline").rglob(f"{module}.py")
    return path.relative_to(ROOT / "pipeline").with_suffix("").as_posix()


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join('"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"' for item in items) + "]"


def _prepare(group: str, keep: bool = False) -> Path:
    """A scratch copy of the project whose [tool.mutmut] mutates this group's modules with its tests; with
    `keep`, the code and tests of the copy are replaced and mutmut's results (mutants/) kept."""
    spec = GROUPS[group]
    folder = WORK / group
    if keep and (folder / "mutants").is_dir():
        for name in ("pipeline", "tests", "raw"):
            shutil.rmtree(folder / name, ignore_errors=True)
    else:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    for name in ("pipeline", "tests", "raw"):
        shutil.copytree(ROOT / name, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    pyproject = pyproject[:pyproject.index("[tool.mutmut]")] if "[tool.mutmut]" in pyproject else pyproject
    pyproject += "\n".join([
        "[tool.mutmut]",
        'source_paths = ["pipeline"]',
        f"only_mutate = {_toml_list([f'pipeline/{_module_path(m)}.py' for m in spec['modules']])}",
        f"pytest_add_cli_args_test_selection = {_toml_list(spec['tests'])}",
        # a module fixture's calls count for every later test of its file (tests/mutation/attribution.py)
        'pytest_add_cli_args = ["-p", "tests.mutation.attribution"]',
        f"do_not_mutate_patterns = {_toml_list(MESSAGE_LINES)}",
        'also_copy = ["raw"]',
        # mutmut times a mutant out after (its tests' duration + constant) x multiplier seconds, measuring the tests
        # without their fixtures: a module fixture's whole build (seconds, more on a busy machine) must fit in the
        # constant, or a mutant that merely reaches it is counted as a timeout (a kill) without being decided.
        "timeout_multiplier = 3.0",
        # mutmut forks each mutant's process from one that has run the tests once, Dagster runs included: a fork
        # of a process with threads (Dagster's) can hang on a lock forever, so each mutant is forked instead from
        # a server that has only imported and collected the tests.
        'process_isolation = "forkserver"',
        "timeout_constant = 20.0",
        "",
    ])
    (folder / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    return folder


def patterns(group: str) -> list[str]:
    """mutmut's names of the mutants to run: every function and method of the group's modules but the SKIPPED."""
    found = []
    for module in GROUPS[group]["modules"]:
        dotted = _module_path(module).replace("/", ".")
        tree = ast.parse((ROOT / "pipeline" / f"{_module_path(module)}.py").read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name not in SKIPPED.get(module, ()):
                found.append(f"pipeline.{dotted}.x_{node.name}__mutmut_*")
            elif isinstance(node, ast.ClassDef):
                found += [f"pipeline.{dotted}.x\u01c1{node.name}\u01c1{item.name}__mutmut_*" for item in node.body
                          if isinstance(item, ast.FunctionDef)]
    return found


def run_mutmut(group: str, folder: Path, keep: bool = False) -> dict[str, str]:
    """{mutant name: status} of one group, mutated in its prepared folder. mutmut runs every mutant it is
    named (a pattern names them all); with `keep`, the survivors of the last run are named first, then the
    mutants left without a result (the changed functions', which mutmut reset, and the unchecked)."""
    started = time.monotonic()
    print(f"mutmut, group {group}: {', '.join(GROUPS[group]['modules'])} (progress in {folder / 'mutmut.log'})",
          flush=True)
    if keep and (folder / "mutants").is_dir():
        steps = [lambda statuses: [n for n, status in statuses.items() if status not in (*KILLED, EQUIVALENT)],
                 lambda statuses: [n for n, status in statuses.items() if status == "not checked"]]
    else:
        # the first function's mutants make mutmut write every mutant (and measure the tests); the others are then
        # named one by one, but those equivalent by rule
        steps = [lambda statuses: patterns(group)[:1],
                 lambda statuses: [n for n, status in statuses.items() if status == "not checked"]]
    with open(folder / "mutmut.log", "w") as log:
        for step in steps:
            statuses = mutmut_results(group, folder)  # those equivalent by rule have their own status: not named
            names = _compact(step(statuses), set(statuses))
            print(f"mutmut, group {group}: {len(names)} name(s) or pattern(s) to run", flush=True)
            if names:
                subprocess.run([str(MUTMUT), "run", "--max-children", str(MAX_CHILDREN), *names], cwd=folder,
                               check=False, stdout=log, stderr=subprocess.STDOUT)
    print(f"mutmut, group {group}: {time.monotonic() - started:.0f} s", flush=True)
    return mutmut_results(group, folder)


def _compact(names: list[str], every: set[str]) -> list[str]:
    """The names, a function's given as its pattern where they are all of its mutants (mutmut matches each mutant
    against each name given)."""
    function = lambda name: name.rpartition("__mutmut_")[0]  # noqa: E731
    of_function = Counter(function(name) for name in every)
    named: dict[str, list[str]] = defaultdict(list)
    for name in names:
        named[function(name) if "__mutmut_" in name and not name.endswith("*") else name].append(name)
    return [item for key, listed in named.items()
            for item in ([f"{key}__mutmut_*"] if len(listed) == of_function.get(key, -1) else listed)]


def mutmut_results(group: str, folder: Path) -> dict[str, str]:
    """{mutant name: status} of the group's mutants that are run (SKIPPED functions' left out); those equivalent by
    rule (equivalent_by_rule), which are not run, have that status."""
    wanted = patterns(group)
    listing = subprocess.run([str(MUTMUT), "results", "--all", "true"], cwd=folder, capture_output=True, text=True)
    statuses = {}
    for line in listing.stdout.splitlines():
        match = re.match(r"\s+(\S+): (.+)$", line)
        if match and any(fnmatch.fnmatchcase(match.group(1), pattern) for pattern in wanted):
            statuses[match.group(1)] = match.group(2).strip()
    for name in equivalent_by_rule(group, folder):
        if statuses.get(name) == "not checked":
            statuses[name] = EQUIVALENT
    return statuses


# Mutants equivalent by a rule, found in the mutated modules themselves and not run: a string of SQL (a statement's
# keyword first, and more than one word) whose only change is the case of its letters outside its quoted literals
# ('build') and f-string fields. DuckDB reads keywords, function names and identifiers in any case, so no test can
# tell such a mutant from the code (each one cost its function's every test). Lines that are SQL from their start are
# not mutated at all (MESSAGE_LINES); this finds the SQL strings inside other lines (`version = con.execute("SELECT
# ...")`, a query passed as an argument, a condition continued over lines).
_SQL_START = re.compile(r"^\s*(SELECT|CREATE|INSERT|DELETE|UPDATE|ATTACH|DETACH|USE|DROP|ALTER|WITH|COPY|CHECKPOINT)\s",
                        re.IGNORECASE)
_SQL_KEPT = re.compile(r"'[^']*'|\{[^}]*\}")  # what a case change would change the meaning of
SQL_CASE = "the case of an SQL string"


def _sql_case_only(before: object, after: object) -> bool:
    return (isinstance(before, str) and isinstance(after, str) and before != after
            and before.lower() == after.lower() and _SQL_START.match(before) is not None
            and _SQL_KEPT.findall(before) == _SQL_KEPT.findall(after))


# Python looks a codec up by its name in any case ("UTF-8" is "utf-8", codecs.lookup): a codec name passed as
# `encoding=` or as the first argument of .encode()/.decode() whose only change is its case is the same codec.
CODEC_CASE = "the case of a codec's name"


def _codec_case_only(before: object, after: object, ancestors: tuple) -> bool:
    if not (isinstance(before, str) and isinstance(after, str) and before != after
            and before.lower() == after.lower() and len(ancestors) >= 2):
        return False
    constant, parent = ancestors[-1], ancestors[-2]
    named = isinstance(parent, ast.keyword) and parent.arg == "encoding"
    called = (isinstance(parent, ast.Call) and isinstance(parent.func, ast.Attribute)
              and parent.func.attr in ("encode", "decode") and parent.args[:1] == [constant])
    try:
        return (named or called) and codecs.lookup(before).name == codecs.lookup(after).name
    except LookupError:
        return False


def _differences(a, b, found: list, ancestors: tuple = ()) -> None:
    """(value in a, value in b, the AST nodes above them) where two ASTs differ (a node of another type counts as one
    difference)."""
    if type(a) is not type(b):
        found.append((a, b, ancestors))
    elif isinstance(a, ast.AST):
        for name in a._fields:
            _differences(getattr(a, name, None), getattr(b, name, None), found, (*ancestors, a))
    elif isinstance(a, list):
        if len(a) != len(b):
            found.append((a, b, ancestors))
        else:
            for x, y in zip(a, b, strict=True):
                _differences(x, y, found, ancestors)
    elif a != b:
        found.append((a, b, ancestors))


def equivalent_by_rule(group: str, folder: Path) -> dict[str, str]:
    """{mutant name: the rule} of the group's mutants that no test can tell from the code (_SQL_START, CODEC_CASE), read
    from the mutated modules mutmut wrote (each mutant is a copy of its function, `x_<name>__mutmut_<n>`, beside the
    original, `..._orig`)."""
    found = {}
    for module in GROUPS[group]["modules"]:
        path = folder / "mutants" / "pipeline" / f"{_module_path(module)}.py"
        if not path.is_file():
            continue
        dotted = "pipeline." + _module_path(module).replace("/", ".")
        functions = {node.name: node for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                     if isinstance(node, ast.FunctionDef) and "__mutmut_" in node.name}
        for name, node in functions.items():
            base, _, number = name.rpartition("__mutmut_")
            original = functions.get(f"{base}__mutmut_orig")
            if number == "orig" or original is None:
                continue
            differences: list = []
            _differences(original.body, node.body, differences)
            if len(differences) == 1 and _sql_case_only(*differences[0][:2]):
                found[f"{dotted}.{name}"] = SQL_CASE
            elif len(differences) == 1 and _codec_case_only(*differences[0]):
                found[f"{dotted}.{name}"] = CODEC_CASE
    return found


KILLED = ("killed", "timeout", "caught by type check")
EQUIVALENT = "equivalent by rule, not run"


def report(statuses: dict[str, str], sql: tuple[int, int, list[str]] | None) -> None:
    by_module: dict[str, Counter] = defaultdict(Counter)
    survivors: dict[str, list[str]] = defaultdict(list)
    for name, status in statuses.items():
        module = name.split(".x")[0].split(".")[-1] if name.startswith("pipeline.") else name.split(".")[0]
        if status == "not checked":  # an interrupted run: not part of the score, counted apart
            by_module[module]["not checked"] += 1
            continue
        if status == EQUIVALENT:  # not part of the score either: no test can tell them from the code
            by_module[module]["equivalent"] += 1
            continue
        by_module[module]["killed" if status in KILLED else "not killed"] += 1
        by_module[module]["timeout"] += status == "timeout"
        if status not in KILLED:
            survivors[module].append(f"{name} ({status})")
    if sql is not None:
        killed, total, names = sql
        by_module["sql/*.sql"].update({"killed": killed, "not killed": total - killed})
        survivors["sql/*.sql"] = names
    print("\nmutation score (killed / mutants):")
    all_killed = all_total = 0
    for module, counts in sorted(by_module.items()):
        total = counts["killed"] + counts["not killed"]
        all_killed, all_total = all_killed + counts["killed"], all_total + total
        unchecked = f"   ({counts['not checked']} not checked)" if counts["not checked"] else ""
        unchecked += f"   ({counts['equivalent']} equivalent by rule, not run)" if counts["equivalent"] else ""
        # a timeout counts as killed (mutmut's convention) but is shown: on a busy machine it may be a slow survivor
        unchecked += f"   ({counts['timeout']} of the killed by timeout)" if counts["timeout"] else ""
        print(f"  {module:<16} {counts['killed']:>5} / {total:<5} {counts['killed'] / max(total, 1):6.1%}{unchecked}")
    print(f"  {'all':<16} {all_killed:>5} / {all_total:<5} {all_killed / max(all_total, 1):6.1%}")
    print("\nsurviving mutants (Python: `mutmut show NAME` in .mutation/<group>/):")
    for module, names in sorted(survivors.items()):
        for name in names:
            print(f"  {module}: {name}")


def costs(top: int = 15) -> None:
    """What each group's mutants cost (mutants/mutmut-costs.jsonl, written by tests/mutation/attribution.py in each
    mutant's process; the last line of a mutant run again): CPU seconds of the kills and of the survivors, and the
    functions whose mutants cost most. A survivor runs every test of its function to the end."""
    for group in GROUPS:
        path = WORK / group / "mutants" / "mutmut-costs.jsonl"
        if not path.is_file():
            continue
        last = {row["mutant"]: row for row in map(json.loads, path.read_text(encoding="utf-8").splitlines())}
        by_function: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0.0])
        for name, row in last.items():
            entry = by_function[name.split("__mutmut_")[0]]
            entry[0] += 1
            entry[1] += row["killed_by"] is None
            entry[2] += row["cpu_s"]
        survived = [row["cpu_s"] for row in last.values() if row["killed_by"] is None]
        killed = [row["cpu_s"] for row in last.values() if row["killed_by"] is not None]
        print(f"\ngroup {group}: {len(last)} mutants run, {sum(survived) + sum(killed):.0f} CPU s: "
              f"{len(killed)} killed in {sum(killed):.0f} s, {len(survived)} not killed in {sum(survived):.0f} s")
        for function, (count, not_killed, cpu) in sorted(by_function.items(), key=lambda item: -item[1][2])[:top]:
            print(f"  {cpu:8.1f} s  {count:4} mutants ({not_killed} not killed)  {function}")


def main(argv: list[str]) -> int:
    if argv == ["--costs"]:
        costs()
        return 0
    if argv == ["--report"]:
        from tests.mutation.sql_mutants import RESULTS

        statuses = {}
        for group in GROUPS:
            if (WORK / group / "mutants").is_dir():
                statuses.update(mutmut_results(group, WORK / group))
        sql = json.loads(RESULTS.read_text()) if RESULTS.exists() else None
        report(statuses, (sql["killed"], sql["total"], sql["survivors"]) if sql else None)
        if sql and sql.get("of", sql["total"]) != sql["total"]:
            print(f"(the SQL run was interrupted after {sql['total']} of its {sql['of']} mutants)")

        return 0
    keep = "--keep" in argv
    groups = [arg for arg in argv if arg != "--keep"] or [*GROUPS, "sql"]
    # the warehouses tests only read are published with the job's steps called directly (tests.helpers.
    # publish_for_reading): every mutant's process builds them again, and that takes half the time of a Dagster run
    from tests.helpers import STEPS_ENV

    os.environ[STEPS_ENV] = "steps"
    if keep and "sql" in groups:
        print("--keep is for the Python groups (the SQL mutants keep no results): the SQL group runs whole")
    started = time.monotonic()
    print(f"load average at the start: {_load()}", flush=True)
    # every copy is made first, so that the whole run measures the code and tests as they were when it started
    folders = {group: _prepare(group, keep) for group in groups if group in GROUPS}
    from tests.mutation.sql_mutants import RESULTS

    sql_process = None
    if "sql" in groups:  # the SQL mutants run beside the Python groups, in their own process (one test run at a time)
        WORK.mkdir(exist_ok=True)
        RESULTS.unlink(missing_ok=True)
        print(f"SQL mutants: progress in {WORK / 'sql.log'}", flush=True)
        with open(WORK / "sql.log", "w") as log:
            sql_process = subprocess.Popen([sys.executable, "-m", "tests.mutation.sql_mutants"], cwd=ROOT, stdout=log,
                                           stderr=subprocess.STDOUT)
    statuses: dict[str, str] = {}
    try:
        for group, folder in folders.items():
            statuses.update(run_mutmut(group, folder, keep))
        if sql_process is not None:
            sql_process.wait()
            print(f"SQL mutants: done after {time.monotonic() - started:.0f} s", flush=True)
    finally:
        if sql_process is not None and sql_process.poll() is None:
            sql_process.kill()
            sql_process.wait()
    sql = json.loads(RESULTS.read_text()) if sql_process is not None and RESULTS.exists() else None
    report(statuses, (sql["killed"], sql["total"], sql["survivors"]) if sql else None)
    print(f"\ntotal time {time.monotonic() - started:.0f} s; load average at the end: {_load()}")
    return 0


def _load() -> str:
    """The machine's load average over 1, 5 and 15 minutes (the run's time depends on what else runs)."""
    return " ".join(f"{load:.2f}" for load in os.getloadavg())


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
