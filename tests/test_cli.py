"""`python -m pipeline refresh`, what `make warehouse` runs: a real Dagster run recorded in the
instance (so it shows in `dagster dev`), a summary at the end, exit 1 and nothing published on failure."""

from __future__ import annotations

import dagster as dg

from .conftest import SEED_ID
from .helpers import instance_at, refresh_cli


def test_refresh_publishes_prints_a_summary_and_records_the_run(raw_dir, warehouse_path, tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    out = refresh_cli(raw_dir, warehouse_path, home)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"warehouse: {warehouse_path}" in out.stdout
    for line in ("channels                   4 rows", "arms                       4 rows",
                 "deficit                    1 rows", "figures                   11 rows"):
        assert line in out.stdout
    assert f"report {SEED_ID} (published 2024-09-03)" in out.stdout
    assert ("reconciliation on its as-published values: 3 warning(s): channels_within_total, deficit_identity, "
            "no_channel_exceeds_total") in out.stdout
    assert "reconciliation on its best estimates: no warnings" in out.stdout
    assert "[warn] deficit_identity: 62.8e9 implied (82.5e9 - 19.7e9) vs 6.3e9 stated: off by a factor of 10" in out.stdout
    assert "[warn] figure_periods_within_report: 5 figure(s)" in out.stdout
    # totals_consistent on both bases: the seed states one total
    assert "4 check row(s) had nothing to compare (where status = 'not_compared')" in out.stdout
    with instance_at(home) as instance:
        runs = instance.get_runs()
        assert [(r.job_name, r.status) for r in runs] == [("refresh_warehouse", dg.DagsterRunStatus.SUCCESS)]


def test_refresh_failure_exits_1_names_the_problem_and_keeps_the_last_good_file(raw_dir, seed_dir, warehouse_path,
                                                                                tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    assert refresh_cli(raw_dir, warehouse_path, home).returncode == 0
    before = warehouse_path.read_bytes()
    figures = seed_dir / "figures.toml"
    text = figures.read_text()
    assert "value = 21.5" in text
    figures.write_text(text.replace("value = 21.5", 'value = "21.5bn"'))

    out = refresh_cli(raw_dir, warehouse_path, home)

    assert out.returncode == 1
    assert (f"raw/{SEED_ID}/figures.toml, figure 'coal-smuggling-income' (line" in out.stdout)
    assert "field 'value': found '21.5bn' (str)" in out.stdout
    assert "nothing was published" in out.stdout
    assert warehouse_path.read_bytes() == before


def _python(code: str) -> str:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_the_program_freezes_what_a_refresh_imports_and_what_is_left_at_exit():
    seen = _python(
        "import gc, sys\n"
        "import pipeline.__main__ as m\n"
        "def main(argv=None):\n"
        "    print(gc.isenabled(), gc.get_freeze_count() > 50_000, 'pandas' in sys.modules, 'duckdb' in sys.modules)\n"
        "    global made, during\n"
        "    made = [[] for _ in range(1000)]\n"
        "    during = gc.get_freeze_count()\n"
        "    return 3\n"
        "m.main = main\n"
        "print(m.run_as_program(['refresh']), gc.get_freeze_count() - during >= 1000, gc.isenabled())\n")
    # during the command: collector on, the run's modules imported and frozen; after it: the rest frozen
    assert seen == ["True", "True", "True", "True", "3", "True", "True"]


def test_importing_the_command_line_module_leaves_the_collector_alone():
    assert _python("import gc\nimport pipeline.__main__\nprint(gc.isenabled(), gc.get_freeze_count())\n") == [
        "True", "0"]


def test_python_dash_m_pipeline_runs_as_that_program():
    # the frozen objects after a command are the sign of run_as_program (main alone freezes nothing)
    assert _python("import gc, runpy, sys\n"
                   "sys.argv = ['pipeline', 'summary', 'no-such-warehouse.duckdb']\n"
                   "try:\n"
                   "    runpy.run_module('pipeline', run_name='__main__')\n"
                   "except SystemExit as exc:\n"
                   "    print(exc.code, gc.get_freeze_count() > 0)\n") == ["no", "warehouse", "at", "no-such-warehouse.duckdb",
                                                                        "1", "True"]


def test_a_refresh_runs_in_the_instance_of_pipeline_instance(raw_dir, warehouse_path, dagster_home, monkeypatch,
                                                             capsys):
    import pipeline.defs.instance
    from pipeline.__main__ import refresh

    used = []
    real = pipeline.defs.instance.refresh_instance

    def recorded():
        used.append(real())
        return used[-1]

    monkeypatch.setattr(pipeline.defs.instance, "refresh_instance", recorded)
    assert refresh(str(raw_dir), str(warehouse_path)) == 0
    assert [i.root_directory for i in used] == [str(dagster_home)]
    assert f"warehouse: {warehouse_path}" in capsys.readouterr().out
