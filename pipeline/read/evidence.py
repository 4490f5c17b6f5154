"""`python -m pipeline hash-evidence raw/<report-id>`: record the sha256 of every evidence file that the
folder's corrections.toml cites, as `evidence_sha256` beside each `evidence_file` line, as
`source_sha256` is recorded for the stored document. The refresh verifies it at every load, so an
evidence file edited after its correction was written (bytes appended, a passage changed) stops the
refresh instead of passing as verified.

The file is edited as text, so its comments and layout stay as the person wrote them: each existing
`evidence_sha256 = ...` line is dropped and one is written after each `evidence_file = ...` line.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import rtoml

from pipeline.read.raw_reports import CORRECTIONS_FILE

_EVIDENCE_FILE = re.compile(r"""^(?P<indent>[ \t]*)evidence_file[ \t]*=[ \t]*(?P<q>["'])(?P<name>[^"'\n]*)(?P=q)""")
_EVIDENCE_SHA = re.compile(r"^[ \t]*evidence_sha256[ \t]*=")


def hash_evidence(folder: Path) -> tuple[int, list[str]]:
    """Fill in evidence_sha256 in folder/corrections.toml. Returns (lines written, problems); the file is
    written only when there is no problem."""
    path = folder / CORRECTIONS_FILE
    if not path.is_file():
        return 0, [f"{path}: no such file"]
    text = path.read_text(encoding="utf-8")
    before = rtoml.loads(text)
    lines, problems, written = [], [], 0
    for line in text.splitlines(keepends=True):
        if _EVIDENCE_SHA.match(line):
            continue
        lines.append(line)
        match = _EVIDENCE_FILE.match(line)
        if not match:
            continue
        name = match.group("name")
        evidence = folder / name
        if "/" in name or name.startswith(".") or evidence.is_symlink() or not evidence.is_file():
            problems.append(f"{path}: evidence_file '{name}' is not a regular file stored in {folder}")
            continue
        digest = hashlib.sha256(evidence.read_bytes()).hexdigest()
        if not line.endswith("\n"):
            lines[-1] = line + "\n"
        lines.append(f'{match.group("indent")}evidence_sha256 = "{digest}"\n')
        written += 1
    new_text = "".join(lines)
    after = rtoml.loads(new_text)  # the same corrections, each with its hash
    strip = [{k: v for k, v in entry.items() if k != "evidence_sha256"} for entry in after.get("correction", [])]
    if strip != [{k: v for k, v in entry.items() if k != "evidence_sha256"} for entry in before.get("correction", [])]:
        problems.append(f"{path}: could not add the hashes without changing anything else; add them by hand")
    if problems:
        return 0, problems
    if new_text != text:
        path.write_text(new_text, encoding="utf-8")
    return written, []


def main(folder: str) -> int:
    written, problems = hash_evidence(Path(folder))
    for problem in problems:
        print(problem)
    if problems:
        print("nothing was changed")
        return 2
    print(f"{Path(folder) / CORRECTIONS_FILE}: evidence_sha256 recorded for {written} correction(s)")
    return 0
