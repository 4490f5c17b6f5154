"""Runs whose process is gone are marked failed, so that the run queue moves.

The project's instance runs one run at a time (pipeline/dagster.yaml). A refresh killed with kill -9
(`python -m pipeline refresh`, or the run worker `dagster dev` started) never records its end: its run
stays STARTED, and every run the sensor or the schedule queues afterwards waits for it for ever.
Dagster's run monitoring (enabled in pipeline/dagster.yaml) fails runs stuck while STARTING or
CANCELING, but it watches a STARTED run only where the run launcher can check its worker, which
neither `execute_in_process` (the command line) nor the default run launcher of `dagster dev` can.

So each refresh records in its run's tags which process runs it (host, pid, and the process's start
time, so that a pid used again by another program is not taken for it), and whatever checks, at the
start of a refresh from the command line and at every tick of the raw/ sensor, reports a run as
failed (DagsterInstance.report_run_failed) when that process no longer exists.
"""

from __future__ import annotations

import os
import socket

import dagster as dg

PROCESS_TAG = "pipeline/process"  # "<host> <pid> <process start time> <run id>"
_UNFINISHED = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]


def _process(pid: int) -> tuple[str, str] | None:
    """(state, start time in clock ticks since boot) of a process, from /proc/<pid>/stat (fields 3 and
    22), or None where it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], fields[19]  # the fields after "(comm)" start at field 3


def process_tag(run_id: str) -> dict[str, str]:
    """The tag that says this process runs `run_id`."""
    pid = os.getpid()
    process = _process(pid)
    return {PROCESS_TAG: f"{socket.gethostname()} {pid} {process[1] if process else '-'} {run_id}"}


def _gone(value: str, run_id: str) -> bool:
    """True when the tag names a process of this host that no longer exists (or is another program now)."""
    try:
        host, pid, started, tagged_run = value.split(" ")
        pid_number = int(pid)
    except ValueError:
        return False
    if host != socket.gethostname() or tagged_run != run_id:
        return False  # another machine's process, or a tag a re-executed run copied from its parent
    process = _process(pid_number)
    if process is not None:  # gone when it is a zombie (killed, not yet waited for) or another program
        return process[0] in ("Z", "X") or (started != "-" and process[1] != started)
    try:  # no /proc: whether the pid exists at all
        os.kill(pid_number, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # exists, under another user
    return False


def fail_runs_of_dead_processes(instance: dg.DagsterInstance) -> list[str]:
    """Report as failed every unfinished run whose recorded process is gone; returns their ids."""
    failed = []
    for record in instance.get_run_records(filters=dg.RunsFilter(statuses=_UNFINISHED)):
        run = record.dagster_run
        tag = run.tags.get(PROCESS_TAG)
        if tag is None or not _gone(tag, run.run_id):
            continue
        instance.report_run_failed(run, message=(
            f"the process that ran this refresh ({tag.split(' ')[1]} on {tag.split(' ')[0]}) ended without recording "
            "the end of the run (killed?); marked failed so that queued runs can start. The published warehouse "
            "is the last one a run published."))
        failed.append(run.run_id)
    return failed
