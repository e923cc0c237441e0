"""The audit hash chain: appends verify; every kind of tampering with one entry is named; appends
from several processes at once give one gap-free chain; personal data and secrets are refused."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import time
from pathlib import Path

import pytest

from gdx.audit import GENESIS, AuditEntry, AuditLog
from gdx.audit.log import ENTRIES, HEAD, canonical, entry_file
from gdx.ingest.lakefs import Lake
from gdx.thai.citizen_id import make_citizen_id

N = 12
POSITIONS = [1, 6, N]  # first, middle, last


def _log(tmp_path: Path, n: int = N) -> AuditLog:
    log = AuditLog(Lake(str(tmp_path / "lake")))
    for i in range(n):
        log.append(
            principal=("dopa", "gistda", "gdx-catalog")[i % 3],
            action=("catalog.read", "catalog.denied", "token.issue")[i % 3],
            outcome=("allowed", "denied", "ok")[i % 3],
            dataset="moi.informal_debt_cases" if i % 2 else "pcd.air_quality_hourly",
            detail={"endpoint": "package_show", "i": i},
        )
    return log


def _path(log: AuditLog, seq: int) -> Path:
    return Path(log.lake.abs(entry_file(seq)))


def _raw(log: AuditLog, seq: int) -> dict:
    return json.loads(_path(log, seq).read_bytes())


def _write(log: AuditLog, seq: int, obj: dict) -> None:
    _path(log, seq).write_bytes(canonical(obj) + b"\n")


def _rehash(obj: dict) -> dict:
    body = {k: v for k, v in obj.items() if k != "hash"}
    return {**body, "hash": hashlib.sha256(canonical(body)).hexdigest()}


def test_append_builds_a_verifiable_chain(tmp_path: Path) -> None:
    log = _log(tmp_path)
    entries = log.entries()
    assert [e.seq for e in entries] == list(range(1, N + 1))
    assert entries[0].prev_hash == GENESIS
    for prev, e in zip(entries, entries[1:], strict=False):
        assert e.prev_hash == prev.hash
    for e in entries:  # the stored hash is the SHA-256 of the canonical JSON without "hash"
        raw = _raw(log, e.seq)
        assert (
            raw["hash"]
            == hashlib.sha256(canonical({k: v for k, v in raw.items() if k != "hash"})).hexdigest()
        )
        assert e.time.endswith("+00:00")
    report = log.verify()
    assert report.ok, report.problem
    assert (report.entries, report.head_seq, report.head_hash) == (N, N, entries[-1].hash)
    assert json.loads(Path(log.lake.abs(HEAD)).read_text())["seq"] == N


def test_entries_filters(tmp_path: Path) -> None:
    log = _log(tmp_path)
    reads = log.entries(dataset="moi.informal_debt_cases", action="catalog.denied")
    assert reads and all(
        e.dataset == "moi.informal_debt_cases" and e.action == "catalog.denied" for e in reads
    )
    assert [e.seq for e in log.entries(principal="gistda")] == [2, 5, 8, 11]
    cut = log.entries()[5].time
    assert [e.seq for e in log.entries(since=cut)] == list(range(6, N + 1))
    assert log.entries(principal="nobody") == []


FIELDS = ["seq", "time", "principal", "action", "dataset", "outcome", "detail", "prev_hash", "hash"]


@pytest.mark.parametrize("position", POSITIONS)
@pytest.mark.parametrize("field", FIELDS)
def test_editing_any_field_is_named(tmp_path: Path, field: str, position: int) -> None:
    log = _log(tmp_path)
    obj = _raw(log, position)
    obj[field] = {
        "seq": position + 100, "time": "2020-01-01T00:00:00+00:00", "principal": "moi", "action": "catalog.denied",
        "dataset": "x.y", "outcome": "error", "detail": {"endpoint": "download"}, "prev_hash": "1" * 64, "hash": "2" * 64,
    }[field]  # fmt: skip
    _write(log, position, obj)
    report = log.verify()
    assert not report.ok
    assert report.problem.seq == position
    assert report.problem.message == f"entry {position} was edited: hash mismatch"


@pytest.mark.parametrize("position", POSITIONS)
def test_edit_then_rehash_is_caught_by_the_next_link_or_the_head(tmp_path: Path, position: int) -> None:
    log = _log(tmp_path)
    obj = _raw(log, position)
    obj["principal"] = "moi"
    _write(log, position, _rehash(obj))
    report = log.verify()
    assert not report.ok
    if position == N:  # nothing follows the last entry: the head record still has its old hash
        assert report.problem.message == f"entry {N} was edited: its hash differs from the head record"
    else:
        assert report.problem.seq == position + 1
        assert "not on the chain" in report.problem.message


def test_unparseable_entry_is_named(tmp_path: Path) -> None:
    log = _log(tmp_path)
    _path(log, 4).write_bytes(b'{"seq": 4, "tru')
    assert log.verify().problem.message.startswith("entry 4 was edited: not valid JSON")


@pytest.mark.parametrize("position", POSITIONS)
def test_deleting_one_entry_is_named(tmp_path: Path, position: int) -> None:
    log = _log(tmp_path)
    _path(log, position).unlink()
    report = log.verify()
    assert not report.ok
    assert report.problem.kind == "missing"
    assert report.problem.seq == position
    assert report.problem.message.startswith(f"entry {position} is missing")


def test_deleting_the_last_entry_and_the_head_is_still_named(tmp_path: Path) -> None:
    log = _log(tmp_path)
    _path(log, N).unlink()
    Path(log.lake.abs(HEAD)).unlink()
    report = log.verify()
    assert report.problem.kind == "head" and "missing" in report.problem.message


@pytest.mark.parametrize(("a", "b"), [(1, 2), (6, 7), (N - 1, N), (3, 9)])
def test_reordering_two_entries_is_named(tmp_path: Path, a: int, b: int) -> None:
    log = _log(tmp_path)
    pa_, pb = _path(log, a), _path(log, b)
    da, db = pa_.read_bytes(), pb.read_bytes()
    pa_.write_bytes(db)
    pb.write_bytes(da)
    report = log.verify()
    assert not report.ok
    assert report.problem.message == f"entries {a} and {b} are out of order"


def test_reordering_with_seq_fields_rewritten_and_rehashed_is_caught(tmp_path: Path) -> None:
    log = _log(tmp_path)
    a, b = _raw(log, 5), _raw(log, 6)
    a["seq"], b["seq"] = 6, 5
    _write(log, 5, _rehash(b))
    _write(log, 6, _rehash(a))
    report = log.verify()
    assert report.problem.seq == 5
    assert report.problem.kind in ("out_of_order", "not_on_chain"), report.problem


def _forge(log: AuditLog, seq: int, prev_hash: str) -> dict:
    return AuditEntry.seal(
        seq=seq, time="2026-01-01T00:00:00+00:00", principal="dopa", action="catalog.read",
        dataset="moi.informal_debt_cases", outcome="allowed", detail={}, prev_hash=prev_hash,
    ).__dict__  # fmt: skip


@pytest.mark.parametrize("position", [1, 6, N])
def test_inserting_a_forged_entry_is_named(tmp_path: Path, position: int) -> None:
    """The forger shifts the later files up by one and slips a well-formed, correctly hashed entry
    in at `position`, chained to its predecessor."""
    log = _log(tmp_path)
    for seq in range(N, position - 1, -1):
        os.replace(_path(log, seq), _path(log, seq + 1))
    prev = GENESIS if position == 1 else _raw(log, position - 1)["hash"]
    _write(log, position, _forge(log, position, prev))
    report = log.verify()
    assert not report.ok
    assert report.problem.seq == position
    assert report.problem.message.startswith(f"entry {position} is not on the chain: it was inserted")


def test_appending_a_forged_entry_out_of_chain_is_named(tmp_path: Path) -> None:
    log = _log(tmp_path)
    _write(log, N + 1, _forge(log, N + 1, _raw(log, 3)["hash"]))  # chained to an older entry
    report = log.verify()
    assert report.problem.seq == N + 1
    assert report.problem.kind in ("out_of_order", "not_on_chain")
    _write(log, N + 1, _forge(log, N + 1, "f" * 64))  # chained to nothing
    assert (
        log.verify().problem.message
        == f"entry {N + 1} is not on the chain: its prev_hash does not match entry {N}"
    )


def test_head_lag_after_an_interrupted_append_is_noted_and_repaired(tmp_path: Path) -> None:
    log = _log(tmp_path, 3)
    head_before = Path(log.lake.abs(HEAD)).read_bytes()
    log.append(principal="gdx-admin", action="key.rotate", outcome="ok")
    Path(log.lake.abs(HEAD)).write_bytes(head_before)  # as if the writer died before moving the head
    report = log.verify()
    assert report.ok and report.head_seq == 4 and "newer than the head" in report.notes[0]
    e5 = log.append(principal="gdx-admin", action="key.rotate", outcome="ok")
    assert e5.seq == 5 and e5.prev_hash == log.entries()[3].hash
    assert log.verify().ok and not log.verify().notes


def test_anchor_detects_a_wholesale_rewrite(tmp_path: Path) -> None:
    log = _log(tmp_path, 4)
    anchor = log.verify().anchor
    assert log.verify(anchor=anchor).ok
    # someone with write access rewrites the whole log consistently: only the anchor can tell
    for p in Path(log.lake.abs(ENTRIES)).iterdir():
        p.unlink()
    Path(log.lake.abs(HEAD)).unlink()
    _log(tmp_path, 4)
    assert log.verify().ok
    report = log.verify(anchor=anchor)
    assert report.problem.kind == "anchor" and "rewritten" in report.problem.message


# -- concurrency ----------------------------------------------------------------------------------
PROCS, PER_PROC = 4, 40


def _writer(root: str, who: int, barrier, out) -> None:
    log = AuditLog(Lake(root))
    barrier.wait()  # every writer starts appending at the same moment
    spans = []
    for i in range(PER_PROC):
        t0 = time.monotonic()
        e = log.append(principal=f"w{who}", action="catalog.read", outcome="allowed", detail={"i": i})
        spans.append((t0, time.monotonic(), e.seq))
    out.put((who, spans, log.conflicts))


def test_concurrent_appends_from_processes_form_one_gap_free_chain(tmp_path: Path) -> None:
    root = str(tmp_path / "lake")
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(PROCS), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(root, w, barrier, out)) for w in range(PROCS)]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    # real overlap: some append of one writer ran while another writer's append was running
    spans = {who: s for who, s, _ in results}
    overlaps = sum(
        1 for a in range(PROCS) for b in range(a + 1, PROCS)
        for s0, e0, _ in spans[a] for s1, e1, _ in spans[b] if s0 < e1 and s1 < e0
    )  # fmt: skip
    assert overlaps > 0
    log = AuditLog(Lake(root))
    report = log.verify()
    assert report.ok, report.problem
    entries = log.entries()
    assert [e.seq for e in entries] == list(range(1, PROCS * PER_PROC + 1))
    assert report.head_seq == PROCS * PER_PROC and not report.notes
    # each writer's entries are all there, in its own order, under the seqs it was told
    for who, s, _ in results:
        mine = [e for e in entries if e.principal == f"w{who}"]
        assert [e.detail["i"] for e in mine] == list(range(PER_PROC))
        assert [e.seq for e in mine] == [seq for _, _, seq in s]
    print("conflicts (retries with the next seq):", sum(c for _, _, c in results))


def test_lost_race_retries_with_the_next_seq(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Deterministic version of the race: writer A computed its position, then B appended first."""
    a, b = _log(tmp_path, 2), AuditLog(Lake(str(tmp_path / "lake")))
    stale = a._tail()
    b.append(principal="gistda", action="catalog.read", outcome="allowed")
    monkeypatch.setattr(a, "_tail", lambda: stale)
    e = a.append(principal="dopa", action="catalog.read", outcome="allowed")
    assert (e.seq, a.conflicts) == (4, 1)
    assert e.prev_hash == b.entries()[2].hash
    assert a.verify().ok


def test_crashed_append_leaves_only_a_temp_file_that_is_cleaned(tmp_path: Path) -> None:
    log = _log(tmp_path, 1)
    dead = multiprocessing.get_context("spawn").Process(target=time.sleep, args=(0,))
    dead.start()
    dead.join()
    stale = Path(log.lake.abs(ENTRIES)) / f".000000000002.{dead.pid}.abcd1234.tmp"
    live = Path(log.lake.abs(ENTRIES)) / f".000000000002.{os.getpid()}.abcd1234.tmp"
    stale.write_bytes(b'{"half')
    live.write_bytes(b'{"half')
    assert log.verify().ok  # a temp file is not an entry
    assert log.remove_stale_temps() == 1
    assert not stale.exists() and live.exists()


# -- what an entry may say ------------------------------------------------------------------------
def test_detail_with_a_citizen_id_is_refused(tmp_path: Path) -> None:
    log = _log(tmp_path, 1)
    cid = make_citizen_id("110170020345")
    dashed = f"{cid[0]}-{cid[1:5]}-{cid[5:10]}-{cid[10:12]}-{cid[12]}"
    for detail in (
        {"q": cid},
        {"q": f"search for {dashed}"},
        {"nested": {"list": ["ok", cid]}},
        {"n": int(cid)},
        {cid: "as a key"},
    ):
        with pytest.raises(ValueError, match="citizen id"):
            log.append(principal="dopa", action="catalog.read", outcome="allowed", detail=detail)
    with pytest.raises(ValueError, match="citizen id"):
        log.append(principal="dopa", action="catalog.read", outcome="allowed", dataset=cid)
    assert len(log.entries()) == 1  # nothing was written


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "secret",
        "token",
        "api_key",
        "apiKey",
        "client_secret",
        "sasl.password",
        "private_key",
        "refresh_token",
    ],
)
def test_detail_with_a_secret_key_is_refused(tmp_path: Path, key: str) -> None:
    log = _log(tmp_path, 1)
    with pytest.raises(ValueError, match="credential"):
        log.append(
            principal="gdx-admin", action="credential.rotate", outcome="ok", detail={"user": "dopa", key: "x"}
        )
    with pytest.raises(ValueError, match="credential"):
        log.append(
            principal="gdx-admin", action="credential.rotate", outcome="ok", detail={"inner": [{key: "x"}]}
        )


def test_detail_naming_a_credential_is_allowed(tmp_path: Path) -> None:
    log = _log(tmp_path, 0)
    e = log.append(
        principal="gdx-admin", action="token.issue", outcome="ok", dataset=None,
        detail={"token_id": "t-3f2a", "key_version": "k2", "secret_name": "scram", "ledger_sha256": "1234567890123" + "a" * 51},
    )  # fmt: skip
    assert e.detail["token_id"] == "t-3f2a"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"outcome": "maybe"},
        {"action": "Catalog Read"},
        {"principal": ""},
        {"detail": {"f": float("nan")}},
        {"detail": {"blob": "x" * 5000}},
        {"detail": {"when": object()}},
        {"detail": ["not", "a", "dict"]},
    ],
)
def test_malformed_entries_are_refused(tmp_path: Path, kwargs: dict) -> None:
    log = _log(tmp_path, 0)
    base = {"principal": "dopa", "action": "catalog.read", "outcome": "allowed"}
    with pytest.raises(ValueError):
        log.append(**{**base, **kwargs})
    assert log.entries() == []


def test_a_fresh_lake_verifies_empty(tmp_path: Path) -> None:
    report = AuditLog(Lake(str(tmp_path / "nothing"))).verify()
    assert report.ok and report.entries == 0 and report.anchor == f"0:{GENESIS}"


def test_verify_reads_any_pyarrow_filesystem(tmp_path: Path) -> None:
    """Entries written on a local lake verify (and tampering is named) through a non-local
    pyarrow filesystem view of the same files, as an s3:// lake would be read."""
    import pyarrow.fs as pafs

    log = _log(tmp_path, 5)
    view = Lake.on(pafs.SubTreeFileSystem(str(tmp_path), pafs.LocalFileSystem()), "lake", local=False)
    remote = AuditLog(view)
    assert remote.verify().ok
    assert [e.seq for e in remote.entries()] == [1, 2, 3, 4, 5]
    _path(log, 3).unlink()
    assert remote.verify().problem.message == "entry 3 is missing"


def test_append_on_a_non_local_filesystem(tmp_path: Path) -> None:
    import pyarrow.fs as pafs

    (tmp_path / "lake").mkdir()
    view = Lake.on(pafs.SubTreeFileSystem(str(tmp_path), pafs.LocalFileSystem()), "lake", local=False)
    remote = AuditLog(view)
    for _ in range(3):
        remote.append(principal="gdx-catalog", action="catalog.read", outcome="allowed", dataset="a.b")
    assert remote.verify().ok and AuditLog(Lake(str(tmp_path / "lake"))).verify().head_seq == 3
