"""The project's own error type: every problem with raw input, located precisely enough that a
person can fix it in a minute (folder, file, line or figure id, field, what was found, what was
expected)."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.core.text import visible


@dataclass(frozen=True)
class Problem:
    folder: str  # the report folder, relative to the project: raw/<report_id>
    file: str  # file name inside the folder ("" for the folder itself)
    where: str = ""  # "figure 'cyber' (line 14)", "line 3", "row 2" ...
    field: str = ""  # the field or column
    found: str = ""
    expected: str = ""

    def __str__(self) -> str:
        place = f"{self.folder}/{self.file}" if self.file else self.folder
        parts = [visible(place)]  # a name with a newline or an invisible character, shown escaped
        if self.where:
            parts.append(visible(self.where))
        if self.field:
            parts.append(f"field '{self.field}'")
        head = ", ".join(parts)
        detail = []
        if self.found:
            detail.append(f"found {self.found}")
        if self.expected:
            detail.append(f"expected {self.expected}")
        return f"{head}: {'; '.join(detail)}" if detail else head


# Problems listed in a RawReportError's message (and in the run's metadata); the rest are counted.
MAX_SHOWN = 100


class RawReportError(Exception):
    """Raw reports that cannot be published. Carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem], stage: str = "loading raw reports"):
        self.problems = sorted(problems, key=lambda p: (p.folder, p.file, p.where, p.field))
        self.stage = stage
        lines = [f"{len(self.problems)} problem(s) {stage}; nothing was published:"]
        lines += [f"  - {p}" for p in self.problems[:MAX_SHOWN]]
        if len(self.problems) > MAX_SHOWN:
            lines.append(f"  ... and {len(self.problems) - MAX_SHOWN:,} more problem(s), not shown: fix these first")
        super().__init__("\n".join(lines))


class PublishError(Exception):
    """The new warehouse could not be published; the published file is unchanged."""
