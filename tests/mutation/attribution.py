"""A pytest plugin for mutmut's first pass (`make mutation` loads it with -p): the functions a test of a file
called are counted as called by the file's later tests too.

mutmut runs, for each mutant, only the tests that called the function it changes, and learns which those are
by recording, for each test, the functions called from its setup to its teardown. A module-scoped fixture
(the seed or invented reports built once through the real job) runs in the setup of the first test that uses
it, so only that test would be recorded as calling the build's functions, and a mutant it does not kill would
survive the tests that read what the build published. Counting a file's calls for its later tests fixes that.
"""

from __future__ import annotations

import pytest

_called_in_file: dict[str, set[str]] = {}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item, nextitem) -> None:
    try:
        from mutmut.state import state
    except ImportError:  # not under mutmut
        return
    called = state()._stats  # the functions this test called so far; mutmut reads and clears it after this hook
    in_file = _called_in_file.setdefault(str(item.path), set())
    in_file |= called
    called |= in_file
