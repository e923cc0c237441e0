"""`gdx.orchestration.task_runtime`: params are checked before any work, an offsets disagreement
fails the task for good (no retries) with the numbers and the params that resolve it, and the
client libraries' INFO lines are held back while our own come through."""

from __future__ import annotations

import json
import logging
import sys
import textwrap
from pathlib import Path

import pytest

from gdx.ingest import offsets
from gdx.ingest.runner import OffsetsDisagree
from gdx.orchestration import alerts, task_runtime
from gdx.orchestration.task_runtime import (
    ParamsError,
    check_params,
    quiet_client_logs,
    resets_for,
    run_dataset,
)


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"mode": "backfill"}, "unknown mode 'backfill'"),
        ({"mode": "reset_offsets"}, "needs reset = one of accept_gap, new_topic_generation, rewind_group"),
        ({"mode": "reset_offsets", "reset": "to_latest"}, "got 'to_latest'"),
        ({"reset": "accept_gap"}, "only for mode reset_offsets"),
        ({"mode": "ingest", "batch": "t+0+0-9"}, "only for mode replay_quarantine"),
    ],
)
def test_bad_params_fail_before_any_work(params: dict, error: str) -> None:
    # an unknown contract: had any work started, this would be an IngestError about the contract
    with pytest.raises(ParamsError, match=error):
        run_dataset("nobody.nothing", params)


def test_good_params() -> None:
    assert check_params(None) == ("ingest", None, None)
    assert check_params({"mode": "ingest", "datasets": ["x"], "reset": "", "batch": None}) == (
        "ingest",
        None,
        None,
    )
    assert check_params({"mode": "replay_quarantine", "batch": "b1"}) == ("replay_quarantine", None, "b1")
    assert check_params({"mode": "reset_offsets", "reset": "rewind_group"}) == (
        "reset_offsets",
        "rewind_group",
        None,
    )


def test_resets_follow_the_runners_rules() -> None:
    assert resets_for({offsets.GROUP_AHEAD}) == ["accept_gap", "rewind_group"]
    assert resets_for({offsets.RETENTION_GAP, offsets.LEDGER_GAP}) == ["accept_gap"]
    assert resets_for({offsets.TOPIC_RECREATED}) == ["new_topic_generation"]
    assert resets_for({offsets.BEYOND_LOG_END, offsets.GROUP_AHEAD}) == ["new_topic_generation"]
    assert resets_for({offsets.LEDGER_OVERLAP}) == []


def test_offsets_disagreement_fails_without_retry_and_alerts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    out = tmp_path / "alerts.jsonl"
    (tmp_path / "ops_offsets_hook.py").write_text(textwrap.dedent(f"""
        import json
        def notify(alert):
            open({str(out)!r}, "a").write(json.dumps(alert.as_dict()) + "\\n")
    """))  # fmt: skip
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "ops_offsets_hook", raising=False)
    monkeypatch.setenv(alerts.HOOK_ENV, "ops_offsets_hook:notify")
    # what the runner raises for a group that committed past the lake's ledger (lake restored)
    decisions = offsets.plan({0: offsets.PartitionFacts(ranges=[(0, 9)], committed=20, log_start=0, log_end=30)},
                             topic_id=None)  # fmt: skip
    problems = [pr for d in decisions.values() for pr in d.problems]
    cid = "pcd.air_quality_hourly"
    exc = OffsetsDisagree(
        offsets.operator_message(cid, "gdx.pcd.air_quality_hourly.v1", 0, problems), problems
    )
    failure = task_runtime._offsets_failure(cid, exc)
    assert isinstance(failure, AirflowFailException)  # Airflow fails it without using the retries
    text = str(failure)
    assert "the group committed 20 but the ledger ends at 10: [10, 20) would be skipped" in text
    assert "gdx ingest pcd.air_quality_hourly --rewind-group" in text
    confs = [json.loads(line.strip()) for line in text.splitlines() if line.strip().startswith("{")]
    assert confs == [
        {"datasets": ["air_quality_hourly"], "mode": "reset_offsets", "reset": "accept_gap"},
        {"datasets": ["air_quality_hourly"], "mode": "reset_offsets", "reset": "rewind_group"},
    ]
    assert "trigger ingest_pcd" in text
    for conf in confs:  # what it tells the operator to pass is accepted
        assert check_params(conf)[0] == "reset_offsets"
    # the task then fails: its failure callback does not repeat what the specific alert said
    alerts.on_task_failure({"exception": failure})
    (alert,) = [json.loads(x) for x in out.read_text().splitlines()]
    assert alert["kind"] == "offsets_disagree" and alert["message"] == text
    alerts.on_task_failure({"exception": AirflowFailException("something else")})
    assert [json.loads(x)["kind"] for x in out.read_text().splitlines()] == [
        "offsets_disagree",
        "task_failed",
    ]


def test_quiet_client_logs_holds_back_client_info_only(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    before = logging.getLogger("kafka").level
    with quiet_client_logs():
        logging.getLogger("kafka.conn").info("<BrokerConnection ...>: connecting")
        logging.getLogger("great_expectations.data_context").info("loading")
        logging.getLogger("kafka.producer").warning("broker slow")
        logging.getLogger("gdx.orchestration.task_runtime").info("pcd.x: in=3 landed=3")
    assert logging.getLogger("kafka").level == before
    assert [(r.name, r.getMessage()) for r in caplog.records] == [
        ("kafka.producer", "broker slow"),
        ("gdx.orchestration.task_runtime", "pcd.x: in=3 landed=3"),
    ]
