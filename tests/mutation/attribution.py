"""A pytest plugin for mutmut's first pass (`make mutation` loads it with -p): the functions a test of a file
called are counted as called by the file's later tests too, and each test's duration includes what its
file's shared fixtures cost.

mutmut runs, for each mutant, only the tests that called the function it changes, and learns which those are
by recording, for each test, the functions called from its setup to its teardown. A module-scoped fixture
(the seed or invented reports built once through the real job) runs in the setup of the first test that uses
it, so only that test would be recorded as calling the build's functions, and a mutant it does not kill would
survive the tests that read what the build published. Counting a file's calls for its later tests fixes that.

mutmut runs a mutant's tests fastest first, stopping at the first failure, but measures a test's duration
without its fixtures: a test reading a warehouse built once by its file's fixture (seconds) counted as
cheaper than a direct call that takes 50 ms, so a mutant the direct test kills first paid for the build. Run
alone, any test that uses such a fixture pays for it, so each test is charged its call plus the largest of its
own setup and the setups of the shared (module- or session-scoped) fixtures it uses.
"""

from __future__ import annotations

import pytest

_called_in_file: dict[str, set[str]] = {}
_setup_of_fixture: dict[tuple[str, str], float] = {}  # (file, or "" for a session fixture; name)
_setup_of_test: dict[str, float] = {}


def _state():
    try:
        from mutmut.state import state
    except ImportError:  # not under mutmut
        return None
    return state()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item, nextitem) -> None:
    state = _state()
    if state is None:
        return
    called = state._stats  # the functions this test called so far; mutmut reads and clears it after this hook
    in_file = _called_in_file.setdefault(str(item.path), set())
    in_file |= called
    called |= in_file


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    yield  # mutmut's own hook adds the call's duration in here
    state = _state()
    if state is None or call.when not in ("setup", "call"):
        return
    info = getattr(item, "_fixtureinfo", None)
    # this suite's module- and session-scoped fixtures this test uses, each under what it is shared by: its file
    # for a module fixture, every file for a session one (made once per process, by whichever test comes first)
    shared = []
    for name in item.fixturenames:
        scopes = {d.scope for d in (info.name2fixturedefs.get(name, ()) if info is not None else ())
                  if d.func.__module__.startswith("tests")}
        if "session" in scopes:
            shared.append(("", name))
        elif "module" in scopes:
            shared.append((str(item.path), name))
    if call.when == "setup":  # the first test that uses a shared fixture pays for it in its setup
        _setup_of_test[item.nodeid] = call.duration
        for key in shared:
            _setup_of_fixture[key] = max(_setup_of_fixture.get(key, 0.0), call.duration)
    elif item.nodeid in state.duration_by_test:  # what running this test alone costs
        state.duration_by_test[item.nodeid] += max([_setup_of_test.get(item.nodeid, 0.0)]
                                                   + [_setup_of_fixture.get(key, 0.0) for key in shared])
