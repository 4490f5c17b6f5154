"""A pandas frame visible to DuckDB SQL under a name, for the statements of one `with` block."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def registered(con, name: str, frame) -> Iterator[None]:
    """con.register(name, frame), and con.unregister(name) however the block ends."""
    con.register(name, frame)
    try:
        yield
    finally:
        con.unregister(name)
