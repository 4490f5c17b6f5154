"""A pytest plugin for mutmut's runs (`make mutation` loads it with -p): a shared fixture's calls are counted as
called by every test that uses it, each test's duration includes what its shared fixtures cost, and each
mutant's tests leave a line of what they cost in mutants/mutmut-costs.jsonl.

mutmut runs, for each mutant, only the tests that called the function it changes, and learns which those are
by recording, for each test, the functions called from its setup to its teardown. A module- or session-scoped
fixture (the seed or invented reports built once through the real job) runs in the setup of the first test
that uses it, so only that test would be recorded as calling the build's functions, and a mutant it does not
kill would survive the tests that read what the build published. The functions each shared fixture calls
while it is set up are recorded under the fixture, and counted for every test that uses it (and for no other:
a test of the same file that does not use the build does not run for the build's mutants).

mutmut runs a mutant's tests fastest first, stopping at the first failure, but measures a test's duration
without its fixtures: a test reading a warehouse built once by its file's fixture (seconds) counted as
cheaper than a direct call that takes 50 ms, so a mutant the direct test kills first paid for the build. Run
alone, any test that uses such a fixture pays for it, so each test is charged its call plus the largest of its
own setup and the setups of the shared fixtures it uses.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import time

import pytest

_SHARED = ("module", "package", "session", "class")
_calls_of_fixture: dict[tuple[str, str], set[str]] = {}  # (what shares it: a file, or "" for a session; name)
_setup_of_fixture: dict[tuple[str, str], float] = {}
_setup_of_test: dict[str, float] = {}
_outer_calls: list[set[str]] = []  # the calls recorded before each fixture being set up, innermost last


def _state():
    try:
        from mutmut.state import state
    except ImportError:  # not under mutmut
        return None
    return state()


def _key(scope: str, path) -> str:
    return ("" if scope == "session" else str(path))


def _shared_of(item) -> list[tuple[str, str]]:
    """This suite's shared fixtures the test uses (directly or through other fixtures), each under what it is
    shared by: its file for a module (or class, package) fixture, every file for a session one."""
    info = getattr(item, "_fixtureinfo", None)
    shared = []
    for name in item.fixturenames:
        scopes = {d.scope for d in (info.name2fixturedefs.get(name, ()) if info is not None else ())
                  if d.func.__module__.startswith("tests")}
        for scope in scopes & set(_SHARED):
            shared.append((_key(scope, item.path), name))
    return shared


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef, request):
    """Record the functions a shared fixture calls while it is made (the ones its own dependencies call too)."""
    state = _state()
    if state is None:
        yield
        return
    _outer_calls.append(set(state._stats))
    state._stats.clear()
    try:
        yield
    finally:
        mine = set(state._stats)
        state._stats.update(_outer_calls.pop())
        if fixturedef.scope in _SHARED and fixturedef.func.__module__.startswith("tests"):
            key = (_key(fixturedef.scope, request.node.path), fixturedef.argname)
            _calls_of_fixture[key] = _calls_of_fixture.get(key, set()) | mine


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item, nextitem) -> None:
    state = _state()
    if state is None:
        return
    for key in _shared_of(item):  # mutmut reads and clears state._stats after this hook
        state._stats |= _calls_of_fixture.get(key, set())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    yield  # mutmut's own hook adds the call's duration in here
    state = _state()
    if state is None or call.when not in ("setup", "call"):
        return
    shared = _shared_of(item)
    if call.when == "setup":  # the first test that uses a shared fixture pays for it in its setup
        _setup_of_test[item.nodeid] = call.duration
        for key in shared:
            _setup_of_fixture[key] = max(_setup_of_fixture.get(key, 0.0), call.duration)
    elif item.nodeid in state.duration_by_test:  # what running this test alone costs
        state.duration_by_test[item.nodeid] += max([_setup_of_test.get(item.nodeid, 0.0)]
                                                   + [_setup_of_fixture.get(key, 0.0) for key in shared])


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items) -> None:
    """A mutant's tests fastest first, as measured by mutmut's first pass (mutants/mutmut-stats.json), so that the
    first to fail is found at the least cost. mutmut 3.8 sorts them so when it forks each mutant from its main
    process, but its fork server (process_isolation = "forkserver", needed here) runs them in the order of a set:
    a mutant a 50 ms test kills could first pay for several builds through the real job."""
    if not _mutant():
        return
    stats = config.rootpath / "mutmut-stats.json"
    if not stats.is_file():
        return
    duration = json.loads(stats.read_text(encoding="utf-8")).get("duration_by_test", {})
    items.sort(key=lambda item: duration.get(item.nodeid, float("inf")))


# Imported once in mutmut's fork server, after it collected the tests, so that each mutant's process (a fork of it)
# starts with them: the pipeline imports them inside the functions that use them (the report page's charts and
# template, the exports), and a mutant whose tests publish would import them again each time (about 0.5 s).
_PRELOADED = ("altair", "vl_convert", "jinja2", "frictionless", "pipeline.publish.site", "pipeline.publish.exports",
              "pipeline.publish.charts", "pipeline.build.changes")


def pytest_collection_finish(session) -> None:
    if _state() is None:  # not under mutmut
        return
    if not _mutant():  # mutmut's fork server (or its first pass)
        import importlib

        for module in _PRELOADED:
            importlib.import_module(module)
    # What the Python documentation advises for a process that forks without exec: gc.freeze() before the fork, so
    # that the children's garbage collections skip the heap they inherit (Dagster, pandas, DuckDB, pandera: large).
    # pytest collects garbage twice at the end of every session (unraisableexception's gc_collect_harder): 0.21 s of
    # the 0.28 s a mutant's process cost besides its tests, measured on a fork of a warm process; 0.04 s frozen. In
    # a mutant's process, what its own collection made is frozen too (it lives until the process exits).
    gc.freeze()


# What each mutant's tests cost: one JSON line per mutant (its name, the tests run, the first that failed, the CPU
# seconds of its process and the wall seconds of its tests). `python -m tests.mutation.run --costs` sums them by
# function: where a run's hour goes.
_started = {"wall": 0.0, "tests": 0, "killed_by": None}


def _mutant() -> str:
    name = os.environ.get("MUTANT_UNDER_TEST", "")
    return name if "__mutmut_" in name else ""


def pytest_sessionstart(session) -> None:
    _started["wall"] = time.monotonic()


def pytest_runtest_logreport(report) -> None:
    if report.when == "call":
        _started["tests"] += 1
    if report.failed and _started["killed_by"] is None:
        _started["killed_by"] = report.nodeid


def pytest_sessionfinish(session, exitstatus) -> None:
    name = _mutant()
    if not name:
        return
    cpu = sum(u.ru_utime + u.ru_stime for u in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)))
    line = json.dumps({"mutant": name, "tests": _started["tests"], "killed_by": _started["killed_by"],
                       "cpu_s": round(cpu, 3),
                       "tests_wall_s": round(time.monotonic() - _started["wall"], 3)})
    with open(session.config.rootpath / "mutmut-costs.jsonl", "a", encoding="utf-8") as costs:
        costs.write(line + "\n")
