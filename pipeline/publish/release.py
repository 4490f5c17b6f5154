"""The DuckDB file, the report page and the exports are published together, by one atomic rename.

    warehouse/.releases/<run>/illicit_income.duckdb   this refresh's file (its staging file, renamed here)
    warehouse/.releases/<run>/{site,export}           its page and exports, built from that file
    warehouse/.published -> .releases/<run>           THE switch: a new link renamed over it
    warehouse/illicit_income.duckdb -> .published/illicit_income.duckdb    stable links, made once,
    warehouse/site   -> .published/site                                    never changed by a refresh
    warehouse/export -> .published/export

Every name an analyst uses goes through `.published`, so one `rename(2)` of that link changes the file,
the page and the exports at once: at every instant the three come from the same refresh. A refresh
builds its release completely (`stage`, then the staging file renamed into it) before `activate`
switches the link, under the staging lock, so two refreshes never interleave. A refresh that fails or
is killed before the switch leaves the published release as it was (an unfinished release is removed
by the next publish); killed after it, the new release is whole.

Readers: DuckDB follows the links when it opens the file, so an open connection holds the release's
file and keeps reading it after a switch (its snapshot), and a new connection opens the new release.
The release a switch replaced is kept until the next switch (a reader that resolved the link just
before the switch still finds its file); older ones are removed. A warehouse of the earlier layout (a
regular file at illicit_income.duckdb) is adopted first, in steps that each leave the path, the page
and the exports showing what they showed (`adopt`).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

RELEASES = ".releases"
CURRENT = ".published"
PUBLISHED_DIRS = ("site", "export")


def stage(staging_file: Path, warehouse_dir: Path, run_key: str) -> Path:
    """Build site/ and export/ of the staging file into a new folder warehouse/.releases/<run_key>/; PublishError
    if they cannot be built (then nothing is published). The caller renames the staging file into it."""
    import duckdb

    from pipeline.core.errors import PublishError
    from pipeline.publish import exports, site

    release = warehouse_dir / RELEASES / run_key
    if release.exists() or release.is_symlink():  # a re-executed run, or one killed before its switch: never reuse
        release = release.with_name(f"{run_key}.{time.time_ns()}")
    try:
        con = duckdb.connect(str(staging_file), read_only=True)
        try:
            previous = current_release(warehouse_dir)
            names = exports.write(con, release / "export", site.build_info(con))
            site.write(con, release / "site", names, previous / "site" if previous else None)
        finally:
            con.close()
    except Exception as exc:
        shutil.rmtree(release, ignore_errors=True)
        raise PublishError(f"run {run_key}: the report page and exports could not be built from {staging_file} "
                           f"({type(exc).__name__}: {exc}); nothing was published") from exc
    return release


def current_release(warehouse_dir: Path) -> Path | None:
    """The published release folder (what `.published` points to), or None."""
    current = warehouse_dir / CURRENT
    return current.resolve() if current.is_symlink() and current.resolve().is_dir() else None


def discard(release: Path, warehouse_dir: Path) -> None:
    """Remove a staged release that will not be published (never the published one)."""
    if release != current_release(warehouse_dir):
        shutil.rmtree(release, ignore_errors=True)


def activate(release: Path, published: Path) -> None:
    """Publish `release` (holding `published.name`, site/ and export/) with one atomic rename of the link
    `.published`; make the stable links if they are missing; remove the releases older than the one replaced."""
    warehouse_dir = published.parent
    adopt(published)
    replaced = current_release(warehouse_dir)
    _fsync_dir(release)
    _fsync_dir(release.parent)
    _switch(warehouse_dir, release)
    _stable_links(published)
    keep = {release.name} | ({replaced.name} if replaced is not None and replaced.parent == release.parent else set())
    for old in release.parent.iterdir():
        if old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)


def adopt(published: Path) -> None:
    """Bring a warehouse of the earlier layout (a regular file at `published`, its page and exports behind
    `.published` or in folders) into this one without losing or changing what it shows: the file is
    hard-linked (the same inode: a reader's connection and the published-file stamp's inode stay) with
    its page and exports into a release, `.published` is switched to it, then each name becomes a link
    to the same bytes. Nothing to do when `published` is already the stable link or does not exist."""
    warehouse_dir = published.parent
    if not published.exists() or (published.is_symlink() and os.readlink(published) == _link_target(published.name)):
        return
    release = warehouse_dir / RELEASES / f"adopted-{time.time_ns()}"
    release.mkdir(parents=True)
    link_or_copy(published, release / published.name)
    for name in PUBLISHED_DIRS:
        if (warehouse_dir / name).is_dir():
            shutil.copytree(warehouse_dir / name, release / name, copy_function=link_or_copy)
    _fsync_dir(release)
    _switch(warehouse_dir, release)
    _stable_links(published)


def _link_target(name: str) -> str:
    return os.path.join(CURRENT, name)


def link_or_copy(source, target) -> None:
    try:
        os.link(os.path.realpath(source), target)
    except OSError:  # another file system, or links not supported
        shutil.copy2(source, target)


def _replace_with_link(path: Path, target: str) -> None:
    """Make `path` a symbolic link to `target` by renaming a new link over it (atomic for a file or a link)."""
    if path.is_dir() and not path.is_symlink():  # a folder (a copy of the warehouse made by hand): its
        shutil.rmtree(path)                        # content is in the release the link points to
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    os.symlink(target, tmp)
    os.replace(tmp, path)


def _switch(warehouse_dir: Path, release: Path) -> None:
    _replace_with_link(warehouse_dir / CURRENT, os.path.join(RELEASES, release.name))
    _fsync_dir(warehouse_dir)


def _stable_links(published: Path) -> None:
    for name in (*PUBLISHED_DIRS, published.name):
        path = published.parent / name
        if not (path.is_symlink() and os.readlink(path) == _link_target(name)):
            _replace_with_link(path, _link_target(name))
    _fsync_dir(published.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def published_page(warehouse_dir: Path) -> Path:
    return warehouse_dir / "site" / "index.html"


def charts_markdown(warehouse_dir: Path) -> str:
    """The published page's charts as Markdown with data: images, for the UI's metadata."""
    import json

    from pipeline.publish.charts import Chart, markdown

    folder = warehouse_dir / "site" / "charts"
    charts = []
    for entry in json.loads((folder / "charts.json").read_text(encoding="utf-8")):
        svg = folder / f"{entry['name']}.svg"
        charts.append(Chart(**entry, svg=svg.read_text(encoding="utf-8") if svg.exists() else ""))
    return markdown(charts)
