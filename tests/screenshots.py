"""Screenshots of what an analyst sees, to judge it by looking: the Dagster UI's asset pages (under a
real `dagster dev`) and the offline report page. Not a test; the pictures are not committed.

    make screenshots OUT=some/folder        (or: .venv/bin/python -m tests.screenshots some/folder)

Works on a copy of the project's raw/ in a temporary folder, refreshed once with
`python -m pipeline refresh` in a temporary Dagster home (the project's own warehouse/ and
.dagster_home/ are not touched). `--with-example` adds the invented second report of the tests, to
see the charts with two sources.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.cdp import chromium
from tests.conftest import PROJECT_ROOT, RAW
from tests.test_dagster_dev import dagster_dev
from tests.test_report_page import add_other_report

UI_PAGES = [
    ("ui-channels-overview", "/assets/channels?view=overview", None),
    ("ui-validation-results", "/assets/validation_results?view=overview", None),
    ("ui-published-warehouse", "/assets/published_warehouse?view=overview", None),
    ("ui-published-warehouse-charts", "/assets/published_warehouse?view=overview", "charts"),
    ("ui-figures-overview", "/assets/figures?view=overview", None),
    ("ui-estimates-overview", "/assets/estimates?view=overview", None),
    ("ui-figures-events", "/assets/figures?view=events", None),
]

# Clicks the "[Show Markdown]" button in the metadata row labelled `label` (the UI's modal for long Markdown).
OPEN_MARKDOWN = """(() => {
  const rows = [...document.querySelectorAll('tr')].filter(r => r.innerText.trim().startsWith(%r));
  for (const row of rows) {
    const button = [...row.querySelectorAll('button, a')].find(b => /Show Markdown/i.test(b.innerText));
    if (button) { button.click(); return true; }
  }
  return false;
})()"""


# Dismisses the UI's one-time "Join the Dagster community" dialog.
SKIP_DIALOG = """(() => {
  const button = [...document.querySelectorAll('[role=dialog] button, .bp5-dialog button, button')]
    .find(b => b.innerText.trim() == 'Skip');
  if (button) { button.click(); return true; }
  return false;
})()"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--with-example", action="store_true", help="add an invented second report of another series")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="screenshots-"))
    try:
        # a copy of the project, so that the runs dagster dev's sensor starts publish into the copy
        project = work / "project"
        project.mkdir()
        shutil.copytree(PROJECT_ROOT / "pipeline", project / "pipeline", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(RAW, project / "raw")
        shutil.copy(PROJECT_ROOT / "pyproject.toml", project / "pyproject.toml")
        if args.with_example:
            add_other_report(project / "raw")
        warehouse = project / "warehouse" / "illicit_income.duckdb"
        home = work / "dagster_home"
        home.mkdir()
        shutil.copy(PROJECT_ROOT / "pipeline" / "dagster.yaml", home / "dagster.yaml")
        env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONPATH": str(project)}
        refresh = subprocess.run([sys.executable, "-m", "pipeline", "refresh"], cwd=project, env=env,
                                 capture_output=True, text=True)
        if refresh.returncode != 0:
            print(refresh.stdout, refresh.stderr, file=sys.stderr)
            return 1
        site = warehouse.parent / "site"
        with chromium(width=1400, height=1000) as page:
            page.navigate(site.resolve().as_uri() + "/index.html")
            print(page.screenshot(out / "page-index.png"))
            reports = sorted((site / "reports").glob("*.html"))
            page.navigate(reports[0].resolve().as_uri())
            print(page.screenshot(out / "page-report.png"))
            with dagster_dev(project, env, work / "dagster-dev.log") as port:
                for name, path, markdown in UI_PAGES:
                    page.resize(1400, 900 if markdown else 2600)  # the UI scrolls inside the window: make it tall
                    page.navigate(f"http://127.0.0.1:{port}{path}", timeout=120)
                    page.wait_until("document.body.innerText.includes('Materialized') || "
                                    "document.body.innerText.includes('Latest materialization')", timeout=120)
                    page.drain(3.0)
                    page.evaluate(SKIP_DIALOG)
                    page.drain(0.5)
                    if markdown:
                        if not page.evaluate(OPEN_MARKDOWN % markdown):
                            print(f"{name}: no [Show Markdown] for {markdown!r}", file=sys.stderr)
                        page.drain(2.0)
                    print(page.screenshot(out / f"{name}.png", height=900 if markdown else 2600))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
