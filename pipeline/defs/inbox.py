"""The inbox: a document dropped into raw/_inbox/ is drafted into raw/_drafts/<report-id>/ by a sensor.

Each draft shows in the UI as a materialization of the `report_drafts` asset (an asset the sensor
reports, not one a run computes), with the draft's path, its report id and how many figures were
drafted. Nothing is published from a draft: the raw/ sensor and every refresh ignore folders whose
name starts with `_`, until `make ready ID=...` moves the draft into raw/.

A document the loader would refuse (empty, not UTF-8, larger than 20 MB, named like report.toml) stays
in the inbox, and the refusal is reported once as an observation of `report_drafts`, until the file
changes. A file is drafted at the first tick that finds it as the tick before found it (same size and
modification time), so a document still being copied is not drafted half-written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg

from pipeline.publish.warehouse import RawReportsDir

REPORT_DRAFTS = dg.AssetKey("report_drafts")
# Larger documents get a draft without drafted figures: drafting reads about 4 MB a second, and a
# sensor tick must end well within its time limit.
DRAFT_LIMIT_BYTES = 2_000_000

report_drafts = dg.AssetSpec(
    REPORT_DRAFTS,
    group_name="drafts",
    description="Report folders drafted from documents dropped into raw/_inbox/, waiting in raw/_drafts/ for a "
                "person to check them and run `make ready ID=<report-id>`. Reported by the inbox_sensor; never "
                "published, and never read by a refresh.",
    kinds={"file"},
)


def _free_report_id(raw_dir: Path, name: str) -> str:
    from pipeline.draft.drafts import drafts_dir, report_id_from_name

    base = report_id_from_name(name)
    candidate, n = base, 1
    while (raw_dir / candidate).exists() or (drafts_dir(raw_dir) / candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def draft_inbox(raw_dir: Path, cursor: dict) -> tuple[list[dg.AssetMaterialization | dg.AssetObservation], dict]:
    """Draft every document of raw/_inbox/ that is as the previous tick saw it. Returns the events to
    report and the next cursor: {"seen": {file name: [size, mtime_ns]}} of this tick, and "refused", the
    same for refused files, so that a refusal is reported once per version of the file."""
    from pipeline.draft.drafts import INBOX_DIR, DraftRefused, create_draft

    inbox = raw_dir / INBOX_DIR
    events: list[dg.AssetMaterialization | dg.AssetObservation] = []
    refused, seen = cursor.get("refused", {}), cursor.get("seen", {})
    remembered: dict[str, list] = {}
    seen_now: dict[str, list] = {}
    if not inbox.is_dir():
        return events, {"refused": remembered, "seen": seen_now}
    with os.scandir(inbox) as entries:
        names = sorted(e.name for e in entries if not e.name.startswith((".", "_")))
    for name in names:
        path = inbox / name
        try:
            info = path.lstat()
        except FileNotFoundError:
            continue
        version = [info.st_size, info.st_mtime_ns]
        if refused.get(name) == version:
            remembered[name] = version
            continue
        seen_now[name] = version
        if seen.get(name) != version:
            continue  # new or still changing: drafted at a later tick
        report_id = _free_report_id(raw_dir, name)
        try:
            made = create_draft(raw_dir, report_id, path, move=True, draft_limit_bytes=DRAFT_LIMIT_BYTES)
        except DraftRefused as exc:
            remembered[name] = version
            events.append(dg.AssetObservation(REPORT_DRAFTS, description=f"refused {name}", metadata={
                "inbox_file": dg.MetadataValue.path(str(path)), "refused": dg.MetadataValue.text(str(exc))}))
            continue
        events.append(dg.AssetMaterialization(REPORT_DRAFTS, description=f"draft {report_id} from {name}", metadata={
            "report_id": report_id,
            "draft_path": dg.MetadataValue.path(str(made.folder)),
            "figures_drafted": made.figures,
            "source_file": made.source_name,
            "source_sha256": made.sha256,
            "state": "draft: check it, replace every TODO, then `make ready ID=" + report_id + "`",
        }))
    return events, {"refused": remembered, "seen": seen_now}


@dg.sensor(
    name="inbox_sensor",
    minimum_interval_seconds=10,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Watches raw/_inbox/: a document dropped there is drafted into raw/_drafts/<report-id>/ (the document, "
                "report.toml to fill in, figures.toml drafted) and reported as a materialization of report_drafts with "
                "the draft's path and figure count. Starts no run; nothing is published until `make ready`.",
)
def inbox_sensor(context: dg.SensorEvaluationContext, raw: RawReportsDir):
    cursor = json.loads(context.cursor) if context.cursor else {}
    events, next_cursor = draft_inbox(raw.resolved, cursor)
    for event in events:
        context.log.info(event.description)
    new_cursor = json.dumps(next_cursor, separators=(",", ":"))
    if not events:
        return dg.SensorResult(skip_reason="no new document in raw/_inbox/", cursor=new_cursor)
    return dg.SensorResult(asset_events=events, cursor=new_cursor)
