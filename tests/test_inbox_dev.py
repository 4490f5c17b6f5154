"""The inbox under the real `dagster dev`: a document dropped into raw/_inbox/ becomes a draft in
raw/_drafts/, shown in the UI as a materialization of report_drafts with its path and figure count,
and starts no refresh (nothing is published from a draft)."""

from __future__ import annotations

import shutil
import time

import pytest

from .conftest import SEED_ID
from .test_dagster_dev import _graphql, _runs, _wait_for_runs, dagster_dev, project_copy

pytestmark = pytest.mark.slow

DRAFTS_QUERY = """{ assetOrError(assetKey: {path: ["report_drafts"]}) { ... on Asset {
    assetMaterializations(limit: 10) { description metadataEntries { label
        ... on PathMetadataEntry { path } ... on IntMetadataEntry { intValue } ... on TextMetadataEntry { text } } } } } }"""


def _drafts_shown(port: int) -> list[dict]:
    asset = _graphql(port, DRAFTS_QUERY)["assetOrError"]
    return asset.get("assetMaterializations", []) if asset else []


def test_a_document_dropped_into_the_inbox_is_drafted_and_shown_in_the_ui(tmp_path):
    project, env = project_copy(tmp_path)

    with dagster_dev(project, env, tmp_path / "dagster-dev.log") as port:
        assert len(_wait_for_runs(port, 1, timeout=240)) == 1  # the raw/ sensor's first look
        inbox = project / "raw" / "_inbox"
        inbox.mkdir()
        shutil.copy(project / "raw" / SEED_ID / "000_7135ed9bf0dced39.txt", inbox / "INSS via Yonhap.txt")
        deadline = time.monotonic() + 180
        shown: list[dict] = []
        while time.monotonic() < deadline and not shown:
            time.sleep(3)
            shown = _drafts_shown(port)
        assert shown, "no report_drafts materialization in the UI"
        entries = {e["label"]: e for e in shown[0]["metadataEntries"]}
        draft = project / "raw" / "_drafts" / "inss-via-yonhap"
        assert entries["draft_path"]["path"] == str(draft)
        assert entries["figures_drafted"]["intValue"] == 11
        assert (draft / "figures.toml").is_file() and not (inbox / "INSS via Yonhap.txt").exists()
        # a draft is not a report: no refresh starts for it
        time.sleep(25)
        assert len(_runs(port)) == 1
