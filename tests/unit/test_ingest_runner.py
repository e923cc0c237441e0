"""Run-level guards that need no broker: clear errors before anything is consumed."""

from __future__ import annotations

import pytest

from gdx.ingest.runner import IngestError, run_ingest


def test_personal_data_contract_without_key_fails_before_consuming(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.delenv("GDX_PII_KEY", raising=False)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")  # nothing listens: must not be contacted
    monkeypatch.setenv("GDX_LAKE_ROOT", str(tmp_path / "lake"))
    monkeypatch.setenv("GDX_STATE_DIR", str(tmp_path / "state"))
    with pytest.raises(IngestError, match="GDX_PII_KEY is not set"):
        run_ingest("moi.informal_debt_cases")
    assert not (tmp_path / "lake").exists() and not (tmp_path / "state").exists()


@pytest.mark.parametrize(("contract_id", "message"), [("nope.nothing", "unknown contract"), ("ref.provinces", "seed")])
def test_unknown_or_seed_contract(contract_id: str, message: str) -> None:
    with pytest.raises(IngestError, match=message):
        run_ingest(contract_id)


def test_cli_reports_missing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from gdx.cli import app

    monkeypatch.delenv("GDX_PII_KEY", raising=False)
    result = CliRunner().invoke(app, ["ingest", "moi.informal_debt_cases", "--bootstrap-servers", "127.0.0.1:1"])
    assert result.exit_code == 1
    assert "GDX_PII_KEY" in result.output
