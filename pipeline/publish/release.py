"""The report page and the exports are published with the DuckDB file, from the same refresh.

    warehouse/illicit_income.duckdb     the file (renamed into place by Warehouse.publish)
    warehouse/site   -> .published/site       symbolic links, made once
    warehouse/export -> .published/export
    warehouse/.published -> .releases/<run>   swapped atomically (a new link renamed over it)
    warehouse/.releases/<run>/{site,export}   built from the staging file before it is published

`stage` builds the pages and the exports from this refresh's staging file, after its audit and
before it is renamed into place; `activate` then points `.published` at them with one rename, right
after the file's own rename, both under the staging lock (so two refreshes never interleave them).
A refresh that fails before its file is published leaves the last good page and exports in place;
a failure while staging them publishes nothing at all. Only the published release is kept.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

RELEASES = ".releases"
CURRENT = ".published"
PUBLISHED_DIRS = ("site", "export")


def stage(staging_file: Path, warehouse_dir: Path, run_key: str) -> Path:
    """Build site/ and export/ of the staging file into warehouse/.releases/<run_key>/; PublishError if
    they cannot be built (then nothing is published)."""
    import duckdb

    from pipeline.core.errors import PublishError
    from pipeline.publish import exports, site

    release = warehouse_dir / RELEASES / run_key
    try:
        shutil.rmtree(release, ignore_errors=True)
        con = duckdb.connect(str(staging_file), read_only=True)
        try:
            names = exports.write(con, release / "export", site.build_info(con))
            previous = (warehouse_dir / CURRENT / "site").resolve() if (warehouse_dir / CURRENT).exists() else None
            site.write(con, release / "site", names, previous)
        finally:
            con.close()
    except Exception as exc:
        shutil.rmtree(release, ignore_errors=True)
        raise PublishError(f"run {run_key}: the report page and exports could not be built from {staging_file} "
                           f"({type(exc).__name__}: {exc}); nothing was published") from exc
    return release


def activate(release: Path, warehouse_dir: Path) -> None:
    """Make `release` the published page and exports with one atomic rename of a symbolic link; remove
    the releases it replaced."""
    current = warehouse_dir / CURRENT
    if current.is_dir() and not current.is_symlink():  # a copy of the folder made by hand turned links into folders
        shutil.rmtree(current)
    new_link = warehouse_dir / f"{CURRENT}.{release.name}.tmp"
    new_link.unlink(missing_ok=True)
    os.symlink(os.path.join(RELEASES, release.name), new_link)
    os.replace(new_link, current)
    for name in PUBLISHED_DIRS:
        path = warehouse_dir / name
        if path.is_symlink():
            continue
        if path.is_dir():  # never expected: a folder someone made there; the published one takes its place
            shutil.rmtree(path)
        os.symlink(os.path.join(CURRENT, name), path)
    for old in (warehouse_dir / RELEASES).iterdir():
        if old.name != release.name:
            shutil.rmtree(old, ignore_errors=True)


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
