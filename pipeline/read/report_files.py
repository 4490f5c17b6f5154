"""What a report folder may hold besides the files a report uses, and the bounds on the work one report
may cost a refresh.

Only regular files are ever read (pipeline.read.report_cache.file_token, the sensor and the loader): a FIFO
would block the reader for ever, a device could be read without end. So anything else in a report
folder (a FIFO, a socket, a device, a symbolic link to one of those or to nothing) is refused with a
message naming it, and so is a file larger than any file a report may use when the report does not
use it (it was neither hashed nor read, but it has no place in raw/).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from pipeline.core.errors import Problem
from pipeline.read.report_cache import MAX_READ_BYTES, folder_files

# Figures of one report whose quote is not found and whose mismatch is located in the document (a
# search per quote over the whole document); the others say only that the quote is not found.
MAX_LOCATED_QUOTES = 20
# Problems of one report after which its remaining figures' quotes are not checked (a report with
# thousands of failing quotes and a large document is fixed from its first problems).
MAX_PROBLEMS_PER_REPORT = 100

_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISDIR, "a folder"))


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def entry_problems(folder_path: Path, folder: str, used: set[str]) -> list[Problem]:
    """A located problem for every entry of the report folder that is not a regular file, and for every
    file larger than MAX_READ_BYTES that the report does not use (`used`: the names of the files it reads).
    A symbolic link to a regular file is left to the checks of the document and evidence files."""
    problems = []
    for name, path in folder_files(folder_path):
        try:
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                try:
                    target = os.stat(path)
                except OSError:
                    problems.append(Problem(folder, name, found="a symbolic link to nothing (its target does not exist)",
                                            expected="only regular files in a report folder: remove it"))
                    continue
                if not stat.S_ISREG(target.st_mode):
                    problems.append(Problem(folder, name, found=f"a symbolic link to {_kind(target.st_mode)}",
                                            expected="only regular files in a report folder (never read): remove it"))
                continue
        except OSError:
            continue  # removed while we looked
        if not stat.S_ISREG(info.st_mode):
            problems.append(Problem(folder, name, found=f"{_kind(info.st_mode)}",
                                    expected="only regular files in a report folder (never read): remove it"))
        elif info.st_size > MAX_READ_BYTES and name not in used:
            problems.append(Problem(folder, name, found=f"a file of {info.st_size:,} bytes that the report does not use",
                                    expected=f"only the report's own files, none larger than {MAX_READ_BYTES:,} bytes "
                                             "(it was not read): move it out of raw/"))
    return problems
