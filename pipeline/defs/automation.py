"""When the warehouse refreshes by itself: a sensor on raw/ and a daily schedule, both running by
default, both launching the one job that builds and publishes everything (write, audit, publish).

Why a classic sensor and schedule rather than declarative automation: Dagster recommends sensors for
event-driven work such as "the arrival of a new file", and declarative automation for conditions on
the asset graph. The trigger here is a change in files Dagster does not manage, and the refresh must
run as one unit (every table rebuilt, then one atomic publish), which a job expresses; automation
conditions are evaluated per asset and could materialize a subset.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import dagster as dg

from pipeline.core.settings import refresh_cron
from pipeline.defs.freshness import published_is_current
from pipeline.defs.jobs import refresh_warehouse
from pipeline.defs.run_liveness import fail_runs_of_dead_processes
from pipeline.publish.warehouse import RawReportsDir, Warehouse
from pipeline.read.report_cache import RACY_SECONDS, file_token, folder_files

CURSOR_VERSION = 1


def scan_raw(raw_dir: Path, previous: dict[str, list], now: float | None = None) -> dict[str, list]:
    """{relative path: [size, mtime_ns, sha256 prefix, ctime_ns, inode]} for every file of every report folder.

    A file whose size, mtime, change time and inode are those of `previous` keeps its recorded hash
    (any write or replacement changes the change time, which no program can set back: the refresh's
    rule, pipeline.read.report_cache.folder_signature); only new or changed files are read, so an unchanged
    raw/ of thousands of reports costs one stat per file. A file changed less than RACY_SECONDS before
    the scan is recorded without its change time, so the next scan reads it again (an edit in the same
    tick of the file system's clock would keep its times). Only regular files are read: a FIFO, a
    device or a symbolic link is recorded by its kind (and a link by its target's name) without being
    opened, and a file larger than any file a report may use by its size (pipeline.read.report_cache.file_token).
    """
    state: dict[str, list] = {}
    if not raw_dir.is_dir():
        return state
    now = time.time() if now is None else now
    for folder in sorted(os.scandir(raw_dir), key=lambda e: e.name):
        if not folder.is_dir() or folder.name.startswith((".", "_")):
            continue
        for name, path in folder_files(Path(folder.path)):  # the files a refresh reads and digests
            rel = f"{folder.name}/{name}"
            try:
                info = os.lstat(path)
                ctime = info.st_ctime_ns if max(info.st_mtime_ns, info.st_ctime_ns) < (now - RACY_SECONDS) * 1e9 \
                    else None
                known = previous.get(rel)
                if known and ctime is not None and known[:2] == [info.st_size, info.st_mtime_ns] \
                        and known[3:] == [ctime, info.st_ino]:
                    state[rel] = known
                    continue
                token = file_token(path, info)
            except FileNotFoundError:
                continue  # removed while we looked: the next tick sees it gone
            state[rel] = [info.st_size, info.st_mtime_ns, token[:16], ctime, info.st_ino]
    return state


def describe_changes(old: dict[str, list], new: dict[str, list]) -> list[str]:
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    edited = sorted(p for p in set(old) & set(new) if old[p][2] != new[p][2])
    return [f"added {p}" for p in added] + [f"removed {p}" for p in removed] + [f"changed {p}" for p in edited]


def _content_digest(state: dict[str, list]) -> str:
    lines = "\n".join(f"{path} {entry[2]}" for path, entry in sorted(state.items()))
    return hashlib.sha256(lines.encode()).hexdigest()


@dg.sensor(
    name="raw_reports_sensor",
    job=refresh_warehouse,
    minimum_interval_seconds=5,  # the daemon evaluates sensors every 5 s at most; a tick costs a stat per file
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Watches raw/: a new report folder, or a changed, added or removed file in one, starts a "
                "refresh within about 5-20 seconds. Its cursor records each file's size, mtime and hash, so an "
                "unchanged raw/ starts nothing and a touched-but-identical file is not a change.",
)
def raw_reports_sensor(context: dg.SensorEvaluationContext, raw: RawReportsDir, warehouse: Warehouse):
    for run_id in fail_runs_of_dead_processes(context.instance):  # so that the run queue moves
        context.log.warning("run %s was left unfinished by a process that is gone: marked failed", run_id)
    cursor = json.loads(context.cursor) if context.cursor else {}
    previous = cursor.get("files", {}) if cursor.get("v") == CURSOR_VERSION else {}
    state = scan_raw(raw.resolved, previous)
    digest = _content_digest(state)
    if cursor.get("v") == CURSOR_VERSION and digest == cursor.get("digest"):
        if state != previous:  # touched but identical: remember the new mtimes, start nothing
            context.update_cursor(json.dumps({**cursor, "files": state}, separators=(",", ":")))
        return dg.SkipReason(f"raw/ unchanged: {len(state)} files")
    if cursor.get("v") != CURSOR_VERSION and published_is_current(raw, warehouse):
        # first evaluation (dagster dev just started): what `make warehouse` published is raw/ as it is now
        context.update_cursor(json.dumps({"v": CURSOR_VERSION, "generation": 0, "digest": digest, "files": state},
                                         separators=(",", ":")))
        return dg.SkipReason(f"first evaluation: the published warehouse is current with raw/ ({len(state)} files)")
    generation = int(cursor.get("generation", 0)) + 1
    changes = describe_changes(previous, state) if cursor else ["first evaluation: raw/ not seen before"]
    context.log.info("raw/ changed: %s", "; ".join(changes[:50]))
    context.update_cursor(json.dumps(
        {"v": CURSOR_VERSION, "generation": generation, "digest": digest, "files": state}, separators=(",", ":")))
    return dg.RunRequest(
        # unique per change, so that going back to an earlier raw/ still refreshes
        run_key=f"raw-{generation}-{digest[:16]}",
        tags={"trigger": "raw_reports_sensor", "raw_digest": digest[:16],
              "raw_changes": "; ".join(changes[:5])[:200]},
    )


daily_refresh = dg.ScheduleDefinition(
    name="daily_refresh",
    job=refresh_warehouse,
    cron_schedule=refresh_cron(),
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Refreshes the warehouse every day (time set by [tool.illicit-income] refresh_cron in pyproject.toml, "
                "UTC), so that corrections and new reports in raw/ are published even when no one is watching.",
)
