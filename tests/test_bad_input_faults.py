"""Bad input found by an adversarial trial (issue 14): what a report folder may hold that is not a
report file (a FIFO, a symbolic link to a device, a huge file nothing uses), a report whose problems
are too many to check or print, an edit the sensor must see though it kept size and modification
time, and `make dev` told where to listen by a HOST in the environment."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import dagster as dg
import pytest

from pipeline.core.errors import MAX_SHOWN, RawReportError
from pipeline.defs.automation import raw_reports_sensor
from pipeline.read import raw_reports, report_cache, report_files
from pipeline.validate.validation import load_and_check

from .conftest import PROJECT_ROOT, SEED_ID
from .helpers import build, failure_message, find_problem
from .test_sensor import sensor_resources

FOLDER = f"raw/{SEED_ID}"


def evaluate(raw_dir: Path, cursor: str | None = None):
    with dg.DagsterInstance.ephemeral() as instance:
        context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=sensor_resources(raw_dir))
        return raw_reports_sensor.evaluate_tick(context)


# 10. the sensor sees every edit the refresh sees


def test_the_sensor_sees_an_edit_that_keeps_size_and_modification_time(raw_dir, seed_dir):
    first = evaluate(raw_dir)
    assert len(first.run_requests) == 1
    path = seed_dir / "report.toml"
    before = path.stat()
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("report says", "report SAYS"), encoding="utf-8")  # same length
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # the old modification time put back
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)

    data = evaluate(raw_dir, first.cursor)

    assert len(data.run_requests) == 1, data.skip_message
    assert data.run_requests[0].tags["raw_changes"] == f"changed {SEED_ID}/report.toml"


# 5. only regular files are read: a FIFO or a link to a device never blocks the sensor or the refresh

SCAN = textwrap.dedent("""
    import sys
    from pathlib import Path
    from pipeline.defs.automation import scan_raw
    from pipeline.read.report_cache import folder_digest
    state = scan_raw(Path(sys.argv[1]), {})
    print(len(state), folder_digest(Path(sys.argv[2])), flush=True)
""")


def _scan_in_a_process(raw_dir: Path, seed_dir: Path) -> str:
    """The sensor's scan and the refresh's digest of raw/, in a process of their own (a hang is a timeout)."""
    proc = subprocess.run([sys.executable, "-c", SCAN, str(raw_dir), str(seed_dir)], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("entry, found", [
    ("fifo", "a FIFO (named pipe)"),
    ("link to /dev/zero", "a symbolic link to a character device"),
    ("link to nothing", "a symbolic link to nothing"),
])
def test_a_fifo_or_a_link_to_a_device_is_refused_and_never_read(published_seed, raw_dir, seed_dir, warehouse_path, entry, found):
    before = warehouse_path.read_bytes()
    path = seed_dir / "notes.txt"
    if entry == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero" if entry == "link to /dev/zero" else seed_dir / "gone.txt")

    count, _ = _scan_in_a_process(raw_dir, seed_dir).split()
    assert count == "6"  # the five files and this one, none read
    with pytest.raises(RawReportError) as info:
        load_and_check(raw_dir)
    find_problem(info.value, folder=FOLDER, file="notes.txt", found=found, expected="only regular files")
    result = build(raw_dir, warehouse_path)
    assert not result.success
    assert f"{FOLDER}/notes.txt: found {found}" in failure_message(result)
    assert warehouse_path.read_bytes() == before


def _bytes_read() -> int:
    """What this process has read through read(2) and the like, as the kernel counts it."""
    return int(re.search(r"^rchar: (\d+)$", Path("/proc/self/io").read_text(), re.MULTILINE).group(1))


# 9. a file the report does not use is never hashed, and is refused by name


def test_a_huge_file_the_report_does_not_use_is_never_read_and_is_refused(raw_dir, seed_dir):
    big = seed_dir / "disk-image.bin"
    with open(big, "wb") as handle:
        handle.truncate(1 << 30)  # a sparse gigabyte: reading it costs time, not disk
    start = _bytes_read()
    report_cache.folder_digest(seed_dir)
    from pipeline.defs.automation import scan_raw

    scan_raw(raw_dir, {})
    assert _bytes_read() - start < 1_000_000  # the seed's files, twice: a few tens of kilobytes
    with pytest.raises(RawReportError) as info:
        load_and_check(raw_dir)
    find_problem(info.value, folder=FOLDER, file="disk-image.bin", found=f"{1 << 30:,} bytes that the report does not use",
                 expected="move it out of raw/")
    assert _bytes_read() - start < 1_000_000


def test_the_loader_and_the_digest_share_one_size_limit():
    assert report_cache.MAX_READ_BYTES == raw_reports.MAX_SOURCE_BYTES


def test_thousands_of_failing_quotes_cost_a_bounded_search_and_a_bounded_message(raw_dir, seed_dir, monkeypatch):
    document = seed_dir / "big-document.txt"
    sentence = "Nothing in this sentence states a figure that a report would quote. "
    document.write_text(sentence * (18_000_000 // len(sentence)), encoding="utf-8")
    import hashlib

    report = seed_dir / "report.toml"
    text = report.read_text(encoding="utf-8")
    text = re.sub(r'^source_file = ".*"$', 'source_file = "big-document.txt"', text, flags=re.MULTILINE)
    text = re.sub(r'^source_sha256 = ".*"$', f'source_sha256 = "{hashlib.sha256(document.read_bytes()).hexdigest()}"',
                  text, flags=re.MULTILINE)
    report.write_text(text, encoding="utf-8")
    (seed_dir / "corrections.toml").unlink()
    figures = "".join(
        f'[[figure]]\nid = "f{i}"\ntopic = "channel"\nsubject = "cyber"\nvalue = {i}\nunit = "USD"\n'
        f'value_text = "${i}"\nquote = "it earned ${i} from theft"\n\n' for i in range(1, 4001))
    assert len(figures) < raw_reports.MAX_TOML_BYTES
    (seed_dir / "figures.toml").write_text(figures, encoding="utf-8")
    searches = []
    locate = raw_reports._quote_mismatch
    monkeypatch.setattr(raw_reports, "_quote_mismatch", lambda *args: searches.append(1) or locate(*args))

    with pytest.raises(RawReportError) as info:
        load_and_check(raw_dir)

    assert len(searches) == report_files.MAX_LOCATED_QUOTES
    quotes = [p for p in info.value.problems if p.field == "quote"]
    assert len(quotes) == report_files.MAX_PROBLEMS_PER_REPORT
    find_problem(info.value, folder=FOLDER, file="figures.toml",
                 found=f"{4000 - report_files.MAX_PROBLEMS_PER_REPORT:,} more figure(s) whose quote and value were not "
                       "checked")
    message = str(info.value)
    assert len(message) < 100_000
    assert f"... and {len(info.value.problems) - MAX_SHOWN:,} more problem(s)" in message
    assert message.count("\n  - ") == MAX_SHOWN


# 13. make dev listens where the command line says, never where the environment says


def _make_dev(*args: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in ("HOST", "PORT", "MAKEFLAGS", "MFLAGS")}
    proc = subprocess.run(["make", "-n", "dev", *args], cwd=PROJECT_ROOT, env={**clean, **env}, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_a_host_exported_in_the_environment_does_not_change_where_make_dev_listens():
    out = _make_dev(HOST="0.0.0.0")
    assert "--host 127.0.0.1" in [line for line in out.splitlines() if "dg dev" in line][-1]
    assert "0.0.0.0" not in out


def test_a_host_asked_for_on_the_command_line_is_used_and_said():
    out = _make_dev("HOST=0.0.0.0", HOST="10.9.9.9")
    assert "--host 0.0.0.0" in [line for line in out.splitlines() if "dg dev" in line][-1]
    assert "listening on 0.0.0.0" in out and "10.9.9.9" not in out

