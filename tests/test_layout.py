"""The layout of pipeline/ (docs/design.md, "Layout"): every module lives in one step folder ("room"),
and a room imports only from the rooms below it, so that the folders read in the order the data flows.

ROOMS is that order, bottom first, defined here once:

- core      shared foundations every step uses (problems, text, vocabulary, frames, settings)
- read      reading raw/ (report folders, their files, evidence, the per-report cache)
- validate  the pandera models, column descriptions, the loader's checks and the per-report checks
- build     the warehouse tables in staging (SQL, the table plan, cross-report checks, changes)
- publish   the published file, the release folder, the report page, charts and exports
- draft     drafting a new report folder (it checks a draft with read and validate)
- defs      the Dagster definitions (assets, checks, jobs, sensors, schedules, run liveness)

Above every room, at the top of pipeline/, only TOP: the package marker, the command line and
definitions.py, the code location that `dagster dev` and `dg` load; they may import any room.
Imports inside functions count like the others: a lazy import up is still an import up.
"""

from __future__ import annotations

import ast
from pathlib import Path

from pipeline.read.report_cache import CODE_SUFFIXES, code_files

from .conftest import PROJECT_ROOT

PIPELINE = PROJECT_ROOT / "pipeline"
ROOMS = ("core", "read", "validate", "build", "publish", "draft", "defs")
TOP = {"__init__.py", "__main__.py", "definitions.py"}


def _modules() -> list[Path]:
    return sorted(path for path in PIPELINE.rglob("*.py") if "__pycache__" not in path.parts)


def _imported(tree: ast.Module, module: str) -> list[tuple[int, str]]:
    """(line, dotted name) of every pipeline import in a module's tree (relative imports resolved
    against `module`, the module's dotted name); `from pipeline import x` yields pipeline.x."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".")[:-node.level]
                base = ".".join([*package, base] if base else package)
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return [(line, name) for line, name in found if name == "pipeline" or name.startswith("pipeline.")]


def _room(dotted: str) -> str | None:
    """The room of a dotted name under pipeline (pipeline.build.tables -> build), None for the top."""
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ROOMS else None


def upward_imports(source: str, module: str) -> list[str]:
    """Every import in `source` (the module `module`, e.g. pipeline.build.tables) of a room above the
    module's own room or of a top module."""
    own = _room(module)
    if own is None:
        return []  # the top may import anything
    bad = []
    for line, name in _imported(ast.parse(source), module):
        room = _room(name)
        if room is None or ROOMS.index(room) > ROOMS.index(own):
            bad.append(f"{module}:{line} imports {name} ({room or 'the top'} is above {own})")
    return bad


def _dotted(path: Path) -> str:
    return ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts)


def test_every_module_is_in_a_room():
    outside = [path.relative_to(PIPELINE).as_posix() for path in _modules()
               if not (path.parent == PIPELINE and path.name in TOP)
               and not (path.parent.parent == PIPELINE and path.parent.name in ROOMS)]
    assert outside == [], f"modules outside a room (move them into one of {ROOMS}): {outside}"
    folders = sorted(path.name for path in PIPELINE.iterdir() if path.is_dir() and path.name != "__pycache__")
    assert folders == sorted(ROOMS), "every folder of pipeline/ is a room, and every room is a folder"
    assert all((PIPELINE / room / "__init__.py").is_file() for room in ROOMS)


def test_imports_only_point_down():
    bad = [problem for path in _modules()
           for problem in upward_imports(path.read_text(encoding="utf-8"), _dotted(path))]
    assert bad == [], "imports that point up:\n" + "\n".join(bad)


def test_the_rule_catches_an_import_up():
    """The check above would see an import up, at the top of a module, inside a function, relative or
    of a top module."""
    source = ("from pipeline.core import text\n"
              "from pipeline.publish.warehouse import Warehouse\n"
              "def f():\n"
              "    from pipeline import definitions\n"
              "    from ..defs import jobs\n"
              "    import pipeline.build.tables\n")
    bad = upward_imports(source, "pipeline.read.raw_reports")
    assert [problem.split(" imports ")[1].split(" ")[0] for problem in bad] == [
        "pipeline.publish.warehouse.Warehouse", "pipeline.definitions", "pipeline.defs.jobs", "pipeline.build.tables"]
    assert upward_imports(source, "pipeline.defs.assets") == ["pipeline.defs.assets:4 imports pipeline.definitions "
                                                               "(the top is above defs)"]


def test_the_code_version_covers_every_room():
    """report_cache.code_version digests every file that decides what is published, in every room:
    a fix to any of them makes the next refresh read every report again."""
    expected = sorted(path for path in PIPELINE.rglob("*")
                      if path.is_file() and path.suffix in CODE_SUFFIXES and "__pycache__" not in path.parts)
    assert [path.resolve() for path in code_files()] == [path.resolve() for path in expected]
    suffixes = {path.suffix for path in expected}
    assert {".py", ".sql", ".json", ".html"} <= suffixes  # modules, the build's SQL, column descriptions, templates
    assert {path.parent.name for path in expected if path.suffix == ".py"} >= set(ROOMS)


def test_a_change_in_any_room_changes_the_code_version(tmp_path, monkeypatch):
    """The digest itself, not only the list: a one-line change to a file of each room, to the SQL, the
    column descriptions and a template changes code_version (computed on a copy of the package)."""
    import shutil

    from pipeline.read import report_cache

    copy = tmp_path / "pipeline"
    shutil.copytree(PIPELINE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(report_cache, "PACKAGE", copy)
    version = report_cache.code_version.__wrapped__  # the digest uncached
    changed = [next(iter(sorted((copy / room).glob("*.py")))) for room in ROOMS]
    changed += [next(iter(sorted(copy.rglob(f"*{suffix}")))) for suffix in (".sql", ".json", ".html")]
    for path in changed:
        before = version()
        path.write_bytes(path.read_bytes() + b"\n")
        assert version() != before, f"a change to {path.relative_to(copy)} leaves code_version as it was"
