"""`gdx agencies token|tokens|revoke`: the token is printed once, stored hashed, and every issue and
revocation is on the audit log (gdx.audit, in the lake)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gdx.audit import AuditLog
from gdx.cli import app
from gdx.security.tokens import TokenStore, token_hash
from gdx.settings import Settings

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "GDX_STATE_DIR": str(tmp_path / "state"),
        "GDX_API_TOKENS_FILE": str(tmp_path / "state" / "auth" / "api_tokens.json"),
        "GDX_LAKE_ROOT": str(tmp_path / "lake"),
    }


def _audit(env: dict[str, str]) -> AuditLog:
    return AuditLog.from_settings(Settings(lake_root=env["GDX_LAKE_ROOT"]))


def test_issue_list_revoke(env: dict[str, str]) -> None:
    issued = runner.invoke(app, ["agencies", "token", "dopa", "--label", "ระบบทะเบียน ETL"], env=env)
    assert issued.exit_code == 0, issued.output
    token = issued.stdout.strip()
    assert re.fullmatch(r"gdx_[A-Za-z0-9_-]{43}", token)  # stdout: the token alone
    token_id = re.search(r"token ([0-9a-f]{16}) for dopa", issued.stderr).group(1)  # type: ignore[union-attr]
    stored = Path(env["GDX_API_TOKENS_FILE"]).read_text()
    assert token not in stored and token_hash(token) in stored

    listed = runner.invoke(app, ["agencies", "tokens"], env=env)
    assert listed.exit_code == 0 and token_id in listed.stdout and "dopa" in listed.stdout
    assert token not in listed.stdout and token_hash(token) not in listed.stdout
    assert token_id not in runner.invoke(app, ["agencies", "tokens", "pcd"], env=env).stdout

    revoked = runner.invoke(app, ["agencies", "revoke", token_id], env=env)
    assert revoked.exit_code == 0 and f"revoked token {token_id} (dopa)" in revoked.stdout
    record = TokenStore(Path(env["GDX_API_TOKENS_FILE"])).lookup(token)
    assert record is not None and record.revoked is not None
    again = runner.invoke(app, ["agencies", "revoke", token_id], env=env)
    assert again.exit_code == 0 and "already revoked" in again.stdout

    entries = _audit(env).entries()
    assert [(e.principal, e.action, e.outcome, e.detail["token_id"]) for e in entries] == [
        ("dopa", "token.issue", "ok", token_id),
        ("dopa", "token.revoke", "ok", token_id),  # once: the second revoke changed nothing
    ]
    assert entries[0].detail["label"] == "ระบบทะเบียน ETL"
    assert all(token not in str(e.detail) for e in entries)


def test_refusals_are_clear(env: dict[str, str]) -> None:
    unknown = runner.invoke(app, ["agencies", "token", "nasa"], env=env)
    assert unknown.exit_code == 1 and "unknown agency 'nasa'" in unknown.stderr and "moi" in unknown.stderr
    assert unknown.stdout == ""
    missing = runner.invoke(app, ["agencies", "revoke", "0123456789abcdef"], env=env)
    assert missing.exit_code == 1 and "no token with id" in missing.stderr
    assert _audit(env).entries() == []


def test_no_token_without_an_audit_entry(env: dict[str, str], tmp_path: Path) -> None:
    """If the audit log cannot be written, the token is not issued (and not printed)."""
    blocked = tmp_path / "not-a-lake"
    blocked.mkdir()
    (blocked / "audit").write_text("a file where the audit folder should be")
    broken = {**env, "GDX_LAKE_ROOT": str(blocked)}
    result = runner.invoke(app, ["agencies", "token", "moi"], env=broken)
    assert result.exit_code == 1 and "was not issued" in result.stderr
    assert not re.search(r"gdx_[A-Za-z0-9_-]{43}", result.output)
    assert TokenStore(Path(env["GDX_API_TOKENS_FILE"])).records() == []
