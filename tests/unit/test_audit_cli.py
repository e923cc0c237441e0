"""`gdx audit show` answers "who read this dataset"; `gdx audit verify` exits 0 with the head or 1
naming the first bad entry (the CLI as the user runs it; the log written by the engine)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gdx.audit import AuditLog
from gdx.audit.log import entry_file
from gdx.cli import app
from gdx.ingest.lakefs import Lake

runner = CliRunner()
DEBT = "moi.informal_debt_cases"


@pytest.fixture
def lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "lake"
    monkeypatch.setenv("GDX_LAKE_ROOT", str(root))
    log = AuditLog(Lake(str(root)))
    for principal, action, outcome, dataset in [
        ("dopa", "catalog.read", "allowed", DEBT),
        ("gistda", "catalog.denied", "denied", DEBT),
        ("dopa", "catalog.read", "allowed", DEBT),
        ("gdx-admin", "token.issue", "ok", None),
        ("gistda", "catalog.read", "allowed", "pcd.air_quality_hourly"),
    ]:
        log.append(
            principal=principal,
            action=action,
            outcome=outcome,
            dataset=dataset,
            detail={"endpoint": "download"},
        )
    return root


def test_show_who_read_a_dataset(lake: Path) -> None:
    res = runner.invoke(app, ["audit", "show", "--dataset", DEBT], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    out = res.output
    assert "ใครอ่านชุดข้อมูลนี้ / Who read moi.informal_debt_cases" in out
    assert "บันทึกการตรวจสอบ / Audit log (dataset=moi.informal_debt_cases)" in out
    rows = {
        cells[1]: cells
        for cells in (
            [c.strip() for c in line.split("│")] for line in out.splitlines() if line.startswith("│")
        )
        if cells[1] in ("dopa", "gistda") and len(cells) == 7  # the who-read table: 5 columns
    }
    assert rows["dopa"][2] == "กรมการปกครอง" and rows["dopa"][3:5] == ["2", "0"]  # 2 reads, 0 denied
    assert rows["gistda"][3:5] == ["0", "1"]
    assert "3 รายการ / entries" in out and "token.issue" not in out


def test_show_filters_as_json(lake: Path) -> None:
    res = runner.invoke(app, ["audit", "show", "--agency", "gistda", "--json"])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert [(r["seq"], r["action"], r["dataset"]) for r in rows] == [
        (2, "catalog.denied", DEBT),
        (5, "catalog.read", "pcd.air_quality_hourly"),
    ]
    res = runner.invoke(app, ["audit", "show", "--action", "token.issue", "--json"])
    assert [json.loads(line)["principal"] for line in res.stdout.splitlines()] == ["gdx-admin"]
    res = runner.invoke(app, ["audit", "show", "--agency", "nobody"])
    assert res.exit_code == 1 and "unknown agency 'nobody'" in res.output


def test_verify_prints_the_head_and_checks_an_anchor(lake: Path) -> None:
    res = runner.invoke(app, ["audit", "verify"])
    assert res.exit_code == 0, res.output
    last = AuditLog(Lake(str(lake))).entries()[-1]
    assert f"head: 5:{last.hash}" in res.stdout
    assert runner.invoke(app, ["audit", "verify", "--anchor", f"5:{last.hash}"]).exit_code == 0
    bad = runner.invoke(app, ["audit", "verify", "--anchor", f"5:{'0' * 64}"])
    assert bad.exit_code == 1 and "entry 5 has a different hash" in bad.output


def _swap(lake: Path, a: int, b: int) -> None:
    pa_, pb = lake / entry_file(a), lake / entry_file(b)
    da, db = pa_.read_bytes(), pb.read_bytes()
    pa_.write_bytes(db)
    pb.write_bytes(da)


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (
            lambda lake: (lake / entry_file(4)).write_bytes(
                (lake / entry_file(4)).read_bytes().replace(b"gdx-admin", b"gdx-ingest")
            ),
            "entry 4 was edited: hash mismatch",
        ),
        (lambda lake: os.remove(lake / entry_file(2)), "entry 2 is missing"),
        (lambda lake: os.remove(lake / entry_file(5)), "entry 5 is missing"),
        (lambda lake: _swap(lake, 2, 3), "entries 2 and 3 are out of order"),
    ],
    ids=["edited", "removed-middle", "removed-last", "reordered"],
)
def test_verify_names_the_first_bad_entry(lake: Path, tamper, message: str) -> None:
    tamper(lake)
    res = runner.invoke(app, ["audit", "verify"])
    assert res.exit_code == 1
    assert message in res.output
    warn = runner.invoke(app, ["audit", "show"])  # show still lists what it can, and warns
    assert warn.exit_code == 0 and message in warn.output
    js = runner.invoke(app, ["audit", "verify", "--json"])
    assert js.exit_code == 1 and message in json.loads(js.stdout)["problem"]["message"]
