"""Safe defaults: raw files are parsed as plain data, no SQL is built from report contents, the UI
listens on localhost unless told otherwise, and an oversized raw file is refused unread."""

from __future__ import annotations

import ast
import hashlib
import os
import re
import subprocess
import tracemalloc
from pathlib import Path

import duckdb
import pytest
import tomli_w

from pipeline.build.changes import _FIGURE_STATE
from pipeline.build.queries import PUBLISHED
from pipeline.core.errors import RawReportError
from pipeline.defs.checks import CONTRACT
from pipeline.publish.warehouse import PUBLISHED_STORAGE_VERSION
from pipeline.read import report_cache
from pipeline.read.raw_reports import CORRECTIONS_FILE, FIGURES_FILE, MAX_SOURCE_BYTES, MAX_TOML_BYTES, REPORT_FILE
from pipeline.validate.schemas import TABLE_SCHEMAS
from pipeline.validate.validation import _unique_keys, load_and_check

from .conftest import PROJECT_ROOT, SEED_ID
from .helpers import build, edit

PIPELINE = PROJECT_ROOT / "pipeline"
MODULES = sorted(PIPELINE.rglob("*.py"))
FOLDER = f"raw/{SEED_ID}"


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}"


def test_the_scan_sees_the_pipeline() -> None:
    names = {p.name for p in MODULES}
    assert {"raw_reports.py", "validation.py", "warehouse.py", "assets.py", "checks.py", "changes.py"} <= names


# ---------------------------------------------------------------------------------------------
# 1. raw files are parsed with safe loaders only

UNSAFE_MODULES = {"yaml", "ruamel", "pickle", "cPickle", "_pickle", "marshal", "shelve", "dill", "cloudpickle",
                  "jsonpickle", "joblib"}
UNSAFE_CALLS = {"eval", "exec", "compile", "__import__"}


def test_no_unsafe_deserializer_or_code_execution_in_pipeline() -> None:
    # Dagster's own filesystem IO manager pickles asset outputs into DAGSTER_HOME: that is Dagster's
    # storage of frames this pipeline built itself, never a parser of raw input, and it is not in pipeline/.
    found = []
    for path in MODULES:
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.Import):
                found += [f"{_where(path, node)} import {a.name}" for a in node.names
                          if a.name.split(".")[0] in UNSAFE_MODULES]
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in UNSAFE_MODULES:
                found.append(f"{_where(path, node)} from {node.module} import ...")
            elif isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
                if isinstance(func, ast.Name) and name in UNSAFE_CALLS:
                    found.append(f"{_where(path, node)} {name}(...)")
                if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
                        and func.value.id in UNSAFE_MODULES:
                    found.append(f"{_where(path, node)} {func.value.id}.{name}(...)")
            elif isinstance(node, ast.Name) and node.id in UNSAFE_MODULES | {"eval", "exec"}:
                found.append(f"{_where(path, node)} uses {node.id}")
    assert not found, "unsafe loader or code execution in pipeline/:\n" + "\n".join(found)


def test_raw_toml_is_parsed_by_a_plain_data_parser() -> None:
    """raw_reports.py parses TOML with a data-only parser (rtoml or tomllib), nothing else."""
    tree = _tree(PIPELINE / "read" / "raw_reports.py")
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert imported & {"rtoml", "tomllib", "tomli"}, imported


# ---------------------------------------------------------------------------------------------
# 2. no SQL built by pasting report contents

# Every name that may be interpolated into SQL text, and what it holds (read from the code):
SQL_NAME_ALLOWLIST = {
    "table",  # a table name: pipeline.build.queries.PUBLISHED entries, TABLE_SCHEMAS keys, or _build's literal
    "t",  # a table name from PUBLISHED (warehouse.py) or CONTRACT (checks.py)
    "PUBLISHED_STORAGE_VERSION",  # the constant "v1.3.0"
    "PUBLISHED_BLOCK_SIZE",  # the constant 16384
    "_FIGURE_STATE",  # the constant SELECT of changes.py, formatted with db="old"/"new"
    "db",  # the attached database alias, "old" or "new"
    "FOLDERS", "ROWS", "name",  # report_cache.py: its own table names, constants of the module
    "frame",  # report_cache.FRAMES keys: the constant names the table SQL reads its inputs by
    "where",  # a constant condition: pipeline.build.tables' Built.rows_to_validate, or its SELECT of report ids
    "staging",  # tables.py: the staging database's own name (current_database()), its quotes doubled
    "alias",  # tables.py: its in-memory database, "rebuilt_" and a uuid's hex digits
    "_CHANGED_REPORTS", "_REBUILT_SERIES",  # tables.py: constant conditions on its own temporary tables
    "_COMPARED_SERIES", "touching",  # tables.py: a constant condition on its temporary table, and its SELECT
    "query",  # tables.py: the text of pipeline/build/sql/source_comparisons.sql, a file of the package
    "cross_checks", "DISTINCT_DOCUMENTS", "SOURCES_AGREE",  # the constant names of the cross-report checks
    "chosen",  # cross_checks.py: "true", or report_id IN (a constant SELECT of tables.py's temporary table)
    "numbered",  # validation.py: the constant numbering SELECT over `table`
    "names",  # column names declared unique by a pandera model in schemas.py
    # catalog/exports/previews/site/charts: names read from the catalog of the file the pipeline built
    "relation", "column",  # their .sql: the name as an identifier, its double quotes doubled (catalog.identifier)
    "source",  # a relation's .sql, or the constant build.info
    "keyword",  # the constant TABLE or VIEW
    "comment", "path",  # catalog.literal(...): descriptions of column_schemas.json, an export file's path
    "parquet",  # catalog.literal(...) of an export file's path
}
SQL_METHODS = {"execute", "executemany", "sql", "query"}
SQL_WORDS = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|CREATE|ATTACH|DETACH|DROP|COPY|ALTER|PRAGMA)\b")


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | \
        {k.arg for n in ast.walk(node) if isinstance(n, ast.Call) for k in n.keywords if k.arg}


def _interpolated(node: ast.AST) -> tuple[bool, set[str], str]:
    """(is the text dynamic, names pasted into it, its literal parts) for an f-string, % or .format."""
    if isinstance(node, ast.JoinedStr):
        literal = "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
        names: set[str] = set()
        for value in node.values:
            if isinstance(value, ast.FormattedValue):
                names |= _names(value.value)
        return True, names, literal
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant) \
            and isinstance(node.left.value, str):
        return True, _names(node.right), node.left.value
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        receiver = node.func.value
        literal = receiver.value if isinstance(receiver, ast.Constant) and isinstance(receiver.value, str) else ""
        return True, _names(node), literal
    return False, set(), ""


def _sql_findings(tree: ast.AST, path: Path) -> tuple[int, list[str]]:
    """(dynamic SQL strings seen, those that paste a name outside the allowlist, as file:line)."""
    bad = []
    checked = 0
    seen: set[int] = set()
    for node in ast.walk(tree):
        candidates: list[ast.AST] = []
        # the first argument of con.execute(...) / con.sql(...)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SQL_METHODS \
                and node.args:
            candidates.append(node.args[0])
        # any SQL-looking f-string or %-string, wherever it goes (a query for the DuckDB CLI, a variable)
        if isinstance(node, ast.JoinedStr | ast.BinOp):
            dynamic, _, literal = _interpolated(node)
            if dynamic and SQL_WORDS.search(literal):
                candidates.append(node)
        for candidate in candidates:
            dynamic, names, _ = _interpolated(candidate)
            if not dynamic or id(candidate) in seen:
                continue
            seen.add(id(candidate))
            checked += 1
            pasted = names - SQL_NAME_ALLOWLIST
            if pasted:
                bad.append(f"{_where(path, candidate)}: SQL built from {sorted(pasted)}")
    return checked, bad


def test_sql_is_never_built_from_anything_but_constant_names() -> None:
    checked, bad = 0, []
    for path in MODULES:
        seen, found = _sql_findings(_tree(path), path)
        checked += seen
        bad += found
    assert not bad, "SQL text built from names outside the allowlist (use ? parameters):\n" + "\n".join(bad)
    assert checked >= 5, "the scan found too few dynamic SQL strings; has the code moved?"


@pytest.mark.parametrize("snippet", [
    'con.execute(f"SELECT * FROM figures WHERE quote = \'{quote}\'")',
    'con.sql("SELECT * FROM figures WHERE id = \'%s\'" % row.figure_id)',
    'con.execute("INSERT INTO t VALUES (\'{}\')".format(entry.title))',
    'query = f"DELETE FROM reports WHERE report_id = \'{report_id}\'"',
])
def test_the_sql_scan_catches_pasted_report_contents(snippet: str) -> None:
    checked, bad = _sql_findings(ast.parse(snippet), PIPELINE / "example.py")
    assert checked == 1 and len(bad) == 1 and bad[0].startswith("pipeline/example.py:1: SQL built from"), bad


def test_the_allowlisted_names_hold_constant_identifiers() -> None:
    ident = re.compile(r"^[a-z_]+$")
    assert all(ident.match(t) for t in PUBLISHED)
    assert all(ident.match(t) for t in CONTRACT)
    assert all(ident.match(t) for t in TABLE_SCHEMAS)
    assert re.fullmatch(r"v\d+\.\d+\.\d+", PUBLISHED_STORAGE_VERSION)
    from pipeline.build import cross_checks

    assert all(ident.match(name) for name in (cross_checks.DISTINCT_DOCUMENTS, cross_checks.SOURCES_AGREE))
    assert re.findall(r"\{[^}]*\}", _FIGURE_STATE) == ["{db}"]
    # changes.py formats _FIGURE_STATE with literal aliases only
    tree = _tree(PIPELINE / "build" / "changes.py")
    formats = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
               and n.func.attr == "format" and isinstance(n.func.value, ast.Name) and n.func.value.id == "_FIGURE_STATE"]
    assert formats
    for call in formats:
        assert not call.args and all(isinstance(k.value, ast.Constant) and k.value.value in ("old", "new")
                                     for k in call.keywords), ast.unparse(call)
    # the report cache's table names, and the expressions naming a row's report, are constants
    assert all(re.fullmatch(r"cache\.[a-z_]+", t) for t in (report_cache.FOLDERS, *report_cache.ROWS.values()))
    assert all(re.fullmatch(r"[a-z_]+", frame) for frame in report_cache.FRAMES)
    # column names a model declares unique (pasted into the whole-table uniqueness query)

    assert all(ident.match(c) for model in TABLE_SCHEMAS.values() for key in _unique_keys(model) for c in key)


SQL_SENTENCE = """It said '); DROP TABLE figures; -- and "quotes" too, about $1.5 billion."""


def test_sql_looking_quote_is_published_verbatim_and_harms_nothing(raw_dir: Path, seed_dir: Path,
                                                                   warehouse_path: Path) -> None:
    report = (seed_dir / REPORT_FILE).read_text(encoding="utf-8")
    source_name = re.search(r'^source_file = "([^"]+)"', report, re.MULTILINE).group(1)
    source = seed_dir / source_name
    source.chmod(0o644)
    old_sha = hashlib.sha256(source.read_bytes()).hexdigest()
    with open(source, "ab") as handle:
        handle.write(("\n" + SQL_SENTENCE + "\n").encode("utf-8"))
    edit(seed_dir / REPORT_FILE, old_sha, hashlib.sha256(source.read_bytes()).hexdigest())
    figure = {"id": "bobby-tables-income", "topic": "channel", "subject": "bobby_tables", "value": 1.5,
              "unit": "USD billion", "value_text": "$1.5 billion", "qualifier": "about", "quote": SQL_SENTENCE}
    with open(seed_dir / FIGURES_FILE, "a", encoding="utf-8") as handle:
        handle.write("\n" + tomli_w.dumps({"figure": [figure]}))

    result = build(raw_dir, warehouse_path)
    assert result.success

    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        quotes = con.execute("SELECT quote FROM figures WHERE figure_id = ?", ["bobby-tables-income"]).fetchall()
        assert quotes == [(SQL_SENTENCE,)]
        channel = con.execute("SELECT channel, income_usd FROM channels WHERE figure_id = ?",
                              ["bobby-tables-income"]).fetchall()
        assert channel == [("bobby_tables", 1_500_000_000.0)]
        have = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
        assert set(PUBLISHED) <= have
        counts = {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in PUBLISHED}
    finally:
        con.close()
    assert counts["reports"] == 1
    assert counts["figures"] == 12  # the seed's eleven and the new one
    assert counts["channels"] == 5 and counts["validation_results"] > 0


# ---------------------------------------------------------------------------------------------
# 3. `make dev` binds 127.0.0.1 unless told otherwise


def _make_dry_run(*args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("HOST", "PORT", "MAKEFLAGS", "MFLAGS")}
    proc = subprocess.run(["make", "-n", "dev", *args], cwd=PROJECT_ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_make_dev_binds_localhost_by_default() -> None:
    out = _make_dry_run()
    dev_lines = [line for line in out.splitlines() if "/dg dev" in line]  # make dev runs dg dev
    assert dev_lines, out
    assert "--host 127.0.0.1" in dev_lines[-1]
    assert "0.0.0.0" not in out


def test_make_dev_host_is_what_it_is_told() -> None:
    out = _make_dry_run("HOST=0.0.0.0", "PORT=3111")
    dev_lines = [line for line in out.splitlines() if "/dg dev" in line]  # make dev runs dg dev
    assert dev_lines, out
    assert "--host 0.0.0.0" in dev_lines[-1] and "--port 3111" in dev_lines[-1]


# ---------------------------------------------------------------------------------------------
# 4. a very large raw file is refused with a clear message, not read whole


def _refused(raw_dir: Path) -> tuple[RawReportError, int]:
    """The error of load_and_check and the peak memory traced while it ran."""
    tracemalloc.start()
    try:
        with pytest.raises(RawReportError) as info:
            load_and_check(raw_dir)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return info.value, peak


def test_a_50_mb_source_is_refused_unread(raw_dir: Path, seed_dir: Path) -> None:
    report = (seed_dir / REPORT_FILE).read_text(encoding="utf-8")
    source_name = re.search(r'^source_file = "([^"]+)"', report, re.MULTILINE).group(1)
    source = seed_dir / source_name
    source.chmod(0o644)
    # source_sha256 is left as it was: the file must be refused before it is hashed.
    with open(source, "r+b") as handle:
        handle.seek(0, os.SEEK_END)
        handle.write(b"\nmore text\n")
        handle.truncate(50_000_000)  # sparse: no 50 MB written to disk
    assert source.stat().st_size == 50_000_000 > MAX_SOURCE_BYTES

    exc, peak = _refused(raw_dir)
    problems = [p for p in exc.problems if p.folder == FOLDER and p.file == source_name]
    assert problems, str(exc)
    assert any("at most" in p.expected and "50,000,000" in p.found for p in problems), str(exc)
    assert f"{FOLDER}/{source_name}" in str(exc) and "at most" in str(exc)
    assert not any(p.field == "source_sha256" for p in exc.problems), "the document was hashed, so read whole"
    assert peak < 10_000_000, f"peak traced memory {peak:,} bytes while refusing a 50 MB file"


@pytest.mark.parametrize("name", [FIGURES_FILE, REPORT_FILE, CORRECTIONS_FILE])
def test_a_2_mb_toml_file_is_refused_unread(raw_dir: Path, seed_dir: Path, name: str) -> None:
    path = seed_dir / name
    text = path.read_text(encoding="utf-8")
    padding = "# padding line to make a hand-typed file far too large\n" * (2_000_000 // 55 + 1)
    path.write_text(text + padding, encoding="utf-8")
    size = path.stat().st_size
    assert size > 2_000_000 > MAX_TOML_BYTES

    exc, peak = _refused(raw_dir)
    problems = [p for p in exc.problems if p.folder == FOLDER and p.file == name]
    assert problems, str(exc)
    assert any("at most" in p.expected and f"{size:,}" in p.found for p in problems), str(exc)
    assert f"{FOLDER}/{name}" in str(exc)
    assert peak < 10_000_000, f"peak traced memory {peak:,} bytes while refusing a 2 MB file"
