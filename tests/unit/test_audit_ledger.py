"""Ledger files on the audit chain without a broker: `ledger.write` chains each file, recovery
chains what a crash left unchained (and only that), verify names edited/removed/unknown files, on
a local lake and on a non-local pyarrow filesystem."""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pytest

from gdx.audit import AuditLog
from gdx.audit.ledger_chain import candidates, unchained
from gdx.contracts.model import get_contract
from gdx.ingest import ledger, recovery
from gdx.ingest.lakefs import Lake
from gdx.ingest.paths import BatchName, ledger_path

AIR = get_contract("pcd.air_quality_hourly")


def _entry(name: BatchName) -> ledger.LedgerEntry:
    now = datetime.now(UTC)
    return ledger.LedgerEntry(
        batch_id=name.stem, contract_id=AIR.id, contract_version=AIR.version, agency=AIR.agency,
        dataset=AIR.dataset, topic=name.topic, partition=name.partition, first_offset=name.first,
        last_offset=name.last, rows_in=name.last - name.first + 1, rows_landed=name.last - name.first - 1,
        rows_quarantined=2, gx_success=True, gx_evaluated_expectations=1, gx_successful_expectations=1,
        started_at=now, finished_at=now, duration_s=0.0, bronze_path=None, quarantine_path=None,
    )  # fmt: skip


NAMES = [BatchName(AIR.topic, p, first, first + 99) for first in (0, 100, 200) for p in (0, 1)]


def _lake(tmp_path: Path, local: bool = True) -> Lake:
    if local:
        return Lake(str(tmp_path / "lake"))
    (tmp_path / "lake").mkdir(exist_ok=True)
    return Lake.on(pafs.SubTreeFileSystem(str(tmp_path), pafs.LocalFileSystem()), "lake", local=False)


@pytest.mark.parametrize("local", [True, False])
def test_ledger_write_chains_each_file(tmp_path: Path, local: bool) -> None:
    lake = _lake(tmp_path, local)
    for name in NAMES:
        ledger.write(lake, AIR, name, _entry(name))
    log = AuditLog(lake)
    entries = log.entries(action="ingest.batch")
    assert [e.detail["batch_id"] for e in entries] == [n.stem for n in NAMES]
    for e, name in zip(entries, NAMES, strict=True):
        assert (e.principal, e.dataset, e.outcome) == ("gdx-ingest", AIR.id, "ok")
        assert e.detail["ledger_path"] == ledger_path(AIR, name)
        assert (e.detail["first_offset"], e.detail["last_offset"], e.detail["rows_quarantined"]) == (
            name.first,
            name.last,
            2,
        )
        data = (tmp_path / "lake" / e.detail["ledger_path"]).read_bytes()
        assert e.detail["ledger_sha256"] == hashlib.sha256(data).hexdigest()
    report = log.verify()
    assert report.ok, report.problem
    assert report.ledger_files == len(NAMES)
    assert unchained(log, lake, AIR) == []


def _write_unchained(lake: Lake, name: BatchName) -> str:
    """A ledger file as a run leaves it when killed between the ledger write and its entry."""
    path = ledger_path(AIR, name)
    lake.write_parquet(path, pa.Table.from_pylist([asdict(_entry(name))], schema=ledger.schema()))
    return path


def test_recovery_chains_a_committed_but_unchained_ledger_file(tmp_path: Path) -> None:
    lake = _lake(tmp_path)
    for name in NAMES[:4]:
        ledger.write(lake, AIR, name, _entry(name))
    crashed = _write_unchained(lake, NAMES[4])
    log = AuditLog(lake)
    assert log.verify().problem.message == f"ledger file {crashed} is not on the chain"
    plan = recovery.scan(lake, AIR)
    assert plan.unchained == [crashed]
    assert recovery.clean(lake, plan) == 0  # nothing deleted: the batch stays committed
    late = log.entries()[-1]
    assert late.detail["ledger_path"] == crashed and late.detail["recovered"] is True
    assert late.detail["batch_id"] == NAMES[4].stem and late.detail["rows_in"] == 100
    assert log.verify().ok
    assert recovery.scan(lake, AIR).unchained == []  # chained once, never again
    recovery.clean(lake, recovery.scan(lake, AIR))
    assert len(log.entries(action="ingest.batch")) == 5


def test_recovery_chains_an_unchained_replay_ledger(tmp_path: Path) -> None:
    lake = _lake(tmp_path)
    base = NAMES[0]
    ledger.write(lake, AIR, base, _entry(base))
    replay = BatchName(base.topic, base.partition, base.first, base.last, ".replay1")
    path = f"ledger/{AIR.agency}/{AIR.dataset}/_replay/{replay.file_name}"
    row = {
        "replay_batch_id": replay.stem, "quarantine_batch_id": base.stem, "_kafka_topic": base.topic,
        "_kafka_partition": 0, "_kafka_offset": 5, "contract_version": AIR.version,
        "replayed_at": datetime.now(UTC), "bronze_path": "bronze/x.parquet",
    }  # fmt: skip
    lake.write_parquet(path, pa.Table.from_pylist([row], schema=ledger.replay_schema()))
    assert path in candidates(lake, AIR)
    recovery.clean(lake, recovery.scan(lake, AIR))
    late = AuditLog(lake).entries()[-1]
    assert late.detail == {
        **late.detail,
        "kind": "replay",
        "replay_batch_id": replay.stem,
        "batch_id": base.stem,
    }
    assert AuditLog(lake).verify().ok


def test_only_the_newest_ledger_file_per_partition_is_a_candidate(tmp_path: Path) -> None:
    lake = _lake(tmp_path)
    for name in NAMES:
        _write_unchained(lake, name)
    assert candidates(lake, AIR) == [ledger_path(AIR, NAMES[-2]), ledger_path(AIR, NAMES[-1])]


@pytest.mark.parametrize("how", ["edit", "remove", "forge"])
@pytest.mark.parametrize("local", [True, False])
def test_verify_names_a_tampered_ledger_file(tmp_path: Path, how: str, local: bool) -> None:
    lake = _lake(tmp_path, local)
    for name in NAMES:
        ledger.write(lake, AIR, name, _entry(name))
    victim = ledger_path(AIR, NAMES[3])
    file = tmp_path / "lake" / victim
    if how == "edit":
        data = bytearray(file.read_bytes())
        data[len(data) // 2] ^= 0x01
        file.write_bytes(bytes(data))
        expected = f"ledger file {victim} was edited: its SHA-256 differs from audit entry 4"
    elif how == "remove":
        file.unlink()
        expected = f"ledger file {victim} is missing (audit entry 4 records it)"
    else:
        forged = victim.replace("+100-199", "+300-399")
        (tmp_path / "lake" / forged).write_bytes(file.read_bytes())
        expected = f"ledger file {forged} is not on the chain"
    report = AuditLog(lake).verify()
    assert report.problem is not None and report.problem.message == expected
    assert AuditLog(lake).verify(ledger=False).ok  # the chain itself is intact: the ledger check caught it


def test_the_recovery_search_stops_at_the_ledger_files_age(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash-unchained file must not make every later run read the whole log: the search stops
    at entries an hour older than the file."""
    lake = _lake(tmp_path)
    log = AuditLog(lake)
    for _ in range(30):  # old catalog traffic
        log.append(principal="dopa", action="catalog.read", outcome="allowed", dataset=AIR.id)
    crashed = _write_unchained(lake, NAMES[0])
    read: list[int] = []
    real = AuditLog.iter_back

    def counting(self):
        for e in real(self):
            read.append(e.seq)
            yield e

    monkeypatch.setattr(AuditLog, "iter_back", counting)
    assert unchained(log, lake, AIR) == [crashed]
    assert len(read) == 30  # nothing is old enough yet: all read
    old = datetime(2020, 1, 1, tzinfo=UTC)
    for seq in range(1, 31):  # rewrite history as if that traffic were years old (hashes untouched)
        p = tmp_path / "lake" / f"audit/entries/{seq:012d}.json"
        p.write_text(p.read_text().replace(p.read_text().split('"time":"')[1].split('"')[0], old.isoformat()))
    read.clear()
    assert unchained(log, lake, AIR) == [crashed]
    assert len(read) == 1  # the first entry older than the horizon ends the search
