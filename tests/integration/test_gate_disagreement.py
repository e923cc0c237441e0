"""GX and the independent cross-check disagree about two rows of a real ingestion (real broker,
real GX): those rows are quarantined as `gate.disagreement` with both verdicts, every other row
lands, the dead letters say so, `gdx status` flags the dataset until the rows are replayed or
acknowledged — and the dataset is not blocked: the next batches land as usual."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow.compute as pc
import pytest

from gdx.ingest.gate import DISAGREEMENT
from gdx.sample import valid_records
from tests.integration import fault_matrix
from tests.integration.ingest_fixtures import assert_exact, dead_letters, ledger_rows, make_env, publish

pytestmark = [pytest.mark.integration]

N = 300
WRONGLY_PASSED = 20  # pm25 out of range: GX says fail, the (broken) prediction says pass
WRONGLY_FLAGGED = 10  # a valid row the (broken) prediction flags: GX says pass
MARK = 12.345  # the valid pm25 value that identifies WRONGLY_FLAGGED inside the gate


def _broken_pm25_prediction(monkeypatch: pytest.MonkeyPatch) -> None:
    from gdx.ingest import gate as gate_module

    original = gate_module.predict

    def broken(expectation: dict[str, Any], table: Any) -> Any:
        p = original(expectation, table)
        if expectation["meta"]["gdx_check"] != "pm25.range":
            return p
        pm25 = pc.fill_null(table.column("pm25"), 0.0).to_numpy()
        unexpected = (np.zeros_like(p.unexpected) | (pm25 == MARK)) & (pm25 < 1000)
        return type(p)(unexpected, not unexpected.any(), p.element_count)

    monkeypatch.setattr(gate_module, "predict", broken)


def test_disputed_rows_are_quarantined_and_the_dataset_needs_attention(
    tmp_path, kafka_cluster, monkeypatch
) -> None:
    from gdx.ingest.config import IngestConfig
    from gdx.ingest.replay import run_replay
    from gdx.ingest.runner import run_ingest

    env = make_env(tmp_path, kafka_cluster, monkeypatch)
    contract = env.contract("pcd.air_quality_hourly")
    records = list(valid_records(contract.id, N, seed=31))
    records[WRONGLY_PASSED]["pm25"] = 5000.0
    records[WRONGLY_FLAGGED]["pm25"] = MARK
    records[40]["aqi"] = -1  # both sides agree: an ordinary quarantined row
    published = publish(kafka_cluster, contract, records)
    at = {i: (p.partition, p.offset) for i, p in enumerate(published)}

    with monkeypatch.context() as m:
        _broken_pm25_prediction(m)
        summary = run_ingest(contract.id, config=IngestConfig.from_env(batch_max_records=100))
    assert summary.rows_disputed == 2 and summary.rows_quarantined == 3
    assert len(summary.batches) > 3  # several batches on every partition: nothing blocked

    bronze, quarantine = assert_exact(published, env.lake, contract)
    assert {k: r["rule_id"] for k, r in quarantine.items()} == {
        at[WRONGLY_PASSED]: DISAGREEMENT, at[WRONGLY_FLAGGED]: DISAGREEMENT, at[40]: "aqi.range",
    }  # fmt: skip
    assert len(bronze) == N - 3
    said_fail = quarantine[at[WRONGLY_PASSED]]["reason"]
    said_pass = quarantine[at[WRONGLY_FLAGGED]]["reason"]
    assert said_fail.startswith(
        "pm25.range: Great Expectations says fail, the independent prediction says pass"
    )
    assert said_pass.startswith(
        "pm25.range: Great Expectations says pass, the independent prediction says fail"
    )
    assert "5000" not in said_fail and "12.345" not in said_pass  # reasons never quote values
    assert quarantine[at[WRONGLY_PASSED]]["raw_value"] == published[WRONGLY_PASSED].value.decode()

    ledger = ledger_rows(env.lake, contract)
    assert sum(r["rows_disputed"] for r in ledger) == 2
    disputed_batches = {r["batch_id"] for r in ledger if r["rows_disputed"]}
    assert {quarantine[at[i]]["_batch_id"] for i in (WRONGLY_PASSED, WRONGLY_FLAGGED)} == disputed_batches

    # dead letters: one per quarantined row; the disputed ones carry the rule and both verdicts
    letters = {(int(d["headers"]["gdx.errors.partition"]), int(d["headers"]["gdx.errors.offset"])): d
               for d in dead_letters(kafka_cluster, contract)}  # fmt: skip
    assert set(letters) == set(quarantine)
    for i, reason in ((WRONGLY_PASSED, said_fail), (WRONGLY_FLAGGED, said_pass)):
        h = letters[at[i]]["headers"]
        assert h["gdx.errors.rule"] == DISAGREEMENT and h["gdx.errors.stage"] == "gate"
        assert h["gdx.errors.reason"] == reason and h["gdx.errors.column"] == "pm25"
        assert letters[at[i]]["value"] == published[i].value  # no personal data: the original bytes
        assert h["gdx.errors.value.masked"] == "false"

    status = env.run_cli("status", contract.id, "--no-lag")
    assert status.returncode == 4, status.stdout[-2000:] + status.stderr[-2000:]
    assert "needs attention" in status.stderr and "2 row(s) quarantined as gate.disagreement" in status.stderr

    # the gate is fixed: a replay lands the row GX passed; the one GX failed stays quarantined
    replayed = run_replay(contract.id)
    assert replayed.rows_landed == 1 and replayed.still_failing == {"pm25.range": 1, "aqi.range": 1}
    status = env.run_cli("status", contract.id, "--no-lag")
    assert status.returncode == 4 and "1 row(s) quarantined as gate.disagreement" in status.stderr
    acked = env.run_cli("status", contract.id, "--no-lag", "--ack-disputes")
    assert acked.returncode == 0, acked.stdout[-2000:] + acked.stderr[-2000:]
    assert quarantine[at[WRONGLY_PASSED]]["_batch_id"] in acked.stdout

    figures = fault_matrix.reconcile(env.lake, contract, published)
    assert (figures.lost, figures.duplicated) == (0, 0)
    assert (figures.landed, figures.quarantined) == (N - 3, 3)
    fault_matrix.record(
        "GX / cross-check disagreement", 2, figures,
        "2 rows disputed (GX fail/prediction pass, GX pass/prediction fail) quarantined as gate.disagreement "
        "with both verdicts (quarantine + DLQ); the others landed; gdx status exit 4 until replay + ack",
    )  # fmt: skip
