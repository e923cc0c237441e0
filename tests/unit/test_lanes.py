"""`tests.lanes`: the lanes `make test` runs side by side, and their exit status."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests import lanes


def test_default_lanes_are_integration_then_unit(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[list[str], list[str]]] = []
    monkeypatch.setattr(lanes, "run", lambda ls, common: seen.append((ls, common)) or 0)
    assert lanes.main([]) == 0 and lanes.main(["tests/unit -x", "--", "--durations=5"]) == 0
    assert seen == [(["tests/integration", "tests/unit"], []), (["tests/unit -x"], ["--durations=5"])]
    assert lanes.lane_commands(["tests/unit -x"], ["-k", "a b"]) == [
        [sys.executable, "-m", "pytest", "-q", "tests/unit", "-x", "-k", "a b"]
    ]


def test_a_failing_background_lane_fails_the_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "test_ok.py").write_text("def test_ok():\n    pass\n")
    (tmp_path / "test_bad.py").write_text(
        "def test_bad():\n    assert 1 == 2, 'the background lane failed'\n"
    )
    common = ["-p", "no:cacheprovider", "--rootdir", str(tmp_path), "-c", "/dev/null"]
    status = lanes.run([str(tmp_path / "test_ok.py"), str(tmp_path / "test_bad.py")], common)
    out = capsys.readouterr().out
    assert status == 1
    assert "the background lane failed" in out and "(exit 1)" in out  # its output, after the first lane's
