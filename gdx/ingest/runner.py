"""One ingestion run of a contract: recover, then consume → validate → land → commit, batch by batch.

`run_ingest` is the single code path behind the Airflow task, `gdx ingest` and the tests.

Per batch (one GX gate over all consumed partitions, then per partition one contiguous offset
range `first-last` named `<topic>+<partition>+<first>-<last>`):

    1 bronze Parquet of the rows that pass          fault points after_temp_write, after_rename,
                                                    after_bronze_write
    2 quarantine Parquet of the rows that fail      after_quarantine_write
    3 dead letters published + flushed              after_dlq_publish
    4 ledger entry per partition (commit point)     after_ledger_write
    5 consumer offsets committed (last + 1)         before_offset_commit, after_offset_commit

A crash anywhere is repaired by the next run (`gdx.ingest.recovery`): uncommitted files are
deleted and their range is read again; committed batches are skipped. Where each partition resumes
is checked before anything is consumed (`gdx.ingest.offsets`): a mismatch between the ledger, the
group and the broker stops the run (`OffsetsDisagree`) until an operator resolves it. Two runs never interleave
(`gdx.ingest.locking` on a host, the lake lease of `gdx.ingest.lease` across hosts: a run that
lost its lease is fenced — every write and deletion refused). With `workers > 1` the partitions are split over forked processes that
run the same loop on disjoint partitions (files, ledger entries and commits are per partition). Nothing here uses the wall clock for data placement: file names come
from offsets, `ingest_date` from the Kafka timestamp of the batch's first record.
"""

from __future__ import annotations

import gc
import logging
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gdx.ingest import ledger, recovery
from gdx.ingest.config import IngestConfig
from gdx.ingest.faults import fault
from gdx.ingest.landing import bronze_table, quarantine_rows
from gdx.ingest.paths import BatchName, bronze_path, ingest_date, quarantine_path
from gdx.ingest.validate import Validated, Validator, gc_paused

if TYPE_CHECKING:
    from collections.abc import Callable

    from gdx.contracts.model import Contract
    from gdx.ingest.consumer import BatchConsumer
    from gdx.ingest.dlq import LazyDeadLetterPublisher
    from gdx.ingest.lakefs import Lake
    from gdx.ingest.model import RawBatch
    from gdx.ingest.pii import Pseudonymiser
    from gdx.security.kafka_conn import KafkaConnection
    from gdx.settings import Settings

log = logging.getLogger(__name__)


class IngestError(RuntimeError):
    """A run that cannot start (unknown contract, seed, missing key or topic): a clear message."""


class NoTopic(IngestError):
    """The contract's topic does not exist yet: nothing was ever published under it."""


class OffsetsDisagree(IngestError):
    """Lake, group and broker disagree about where to resume (`gdx.ingest.offsets`): the run stopped
    before consuming; the message says what happened and which command resolves it."""

    def __init__(self, message: str, problems: list[Any]) -> None:
        super().__init__(message)
        self.problems = problems


class OffsetOutOfRange(IngestError):
    """The broker no longer has an offset being read (auto.offset.reset=error): stopped, not reset."""


@dataclass
class BatchSummary:
    batch_id: str
    partition: int
    first_offset: int
    last_offset: int
    ingest_date: str
    rows_in: int
    rows_landed: int
    rows_quarantined: int
    bronze_path: str | None
    quarantine_path: str | None


@dataclass
class RunSummary:
    """What a run did — counts and ids only, so it is safe for XCom and logs."""

    contract_id: str
    topic: str
    rows_in: int = 0
    rows_landed: int = 0
    rows_quarantined: int = 0
    rows_disputed: int = 0
    """Of rows_quarantined: held as gate.disagreement (GX and the cross-check disagreed): needs attention."""
    batches: list[BatchSummary] = field(default_factory=list)
    quarantined_by_rule: Counter[str] = field(default_factory=Counter)
    gx_evaluated: int = 0
    gx_failed_checks: Counter[str] = field(default_factory=Counter)
    gate_ran: bool = False
    skipped_checks: list[str] = field(default_factory=list)
    recovered_files: int = 0
    start_offsets: dict[int, int | None] = field(default_factory=dict)
    next_offsets: dict[int, int] = field(default_factory=dict)
    duration_s: float = 0.0
    timings: Counter[str] = field(default_factory=Counter)

    @property
    def records_per_s(self) -> float:
        return self.rows_in / self.duration_s if self.duration_s else 0.0

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["quarantined_by_rule"] = dict(self.quarantined_by_rule)
        d["gx_failed_checks"] = dict(self.gx_failed_checks)
        d["timings"] = {k: round(v, 3) for k, v in self.timings.items()}
        d["records_per_s"] = round(self.records_per_s, 1)
        d["start_offsets"] = {str(k): v for k, v in self.start_offsets.items()}
        d["next_offsets"] = {str(k): v for k, v in self.next_offsets.items()}
        return d


def resolve_connection(settings: Settings | None = None) -> KafkaConnection:
    """How ingestion connects: as the `gdx-ingest` principal (`connection_for`: an existing
    cluster from the environment, else the local broker's provisioned client file)."""
    from gdx.security.kafka_conn import connection_for
    from gdx.security.principals import INGEST

    return connection_for(INGEST, settings)


def load_ingestible(contract_id: str, settings: Settings) -> Contract:
    from gdx.contracts.model import ContractError, get_contract

    try:
        contract = get_contract(contract_id, settings.contracts_dir)
    except KeyError as exc:
        raise IngestError(str(exc.args[0])) from None
    except ContractError as exc:
        raise IngestError(f"contracts could not be loaded: {exc}") from None
    if contract.is_seed:
        raise IngestError(f"{contract_id} is reference data (seed): it is not published on Kafka")
    return contract


def run_ingest(
    contract_id: str,
    *,
    connection: KafkaConnection | None = None,
    config: IngestConfig | None = None,
    settings: Settings | None = None,
    accept_gap: bool = False,
    new_topic_generation: bool = False,
    rewind_group: bool = False,
) -> RunSummary:
    """Ingest what is waiting on the contract's topic (bounded by `config`) exactly once.

    `connection` defaults to the ingestion principal's (`resolve_connection`). `accept_gap` /
    `new_topic_generation` / `rewind_group` record the operator's resolution of an offset problem
    first (`gdx.ingest.resolutions`)."""
    from gdx.ingest.consumer import BatchConsumer, TopicMissing, group_id
    from gdx.ingest.lakefs import Lake
    from gdx.ingest.lease import dataset_guard
    from gdx.ingest.pii import PiiKeyError, Pseudonymiser, key_for
    from gdx.security.field_crypto import FieldDecryptor
    from gdx.security.field_keys import FieldKeyError
    from gdx.settings import Settings

    started = time.perf_counter()
    settings = settings or Settings.from_env()
    config = config or IngestConfig.from_env()
    contract = load_ingestible(contract_id, settings)
    try:  # before anything is consumed: a PII contract without its keys must not read a record
        pseudonymiser = Pseudonymiser(key_for(contract, settings.pii_key))
        decryptor = FieldDecryptor.for_contract(contract, settings=settings)
    except (PiiKeyError, FieldKeyError) as exc:
        raise IngestError(str(exc)) from None
    conn = connection or resolve_connection(settings)
    lake = Lake(settings.lake_root)
    validator = Validator(contract, config, pseudonymiser, decryptor)
    summary = RunSummary(contract.id, contract.topic, skipped_checks=list(validator.gate.skipped))

    with dataset_guard(lake, settings.state_dir, contract.id, config.lock_timeout_s):
        consumer = BatchConsumer(conn, contract.topic, group_id(contract.id))
        try:
            try:
                partitions = consumer.partitions()
            except TopicMissing as exc:
                raise NoTopic(str(exc)) from None
            plan = recovery.scan(lake, contract)
            summary.recovered_files = recovery.clean(lake, plan)
            if summary.recovered_files:
                log.warning("%s: removed %d uncommitted file(s) left by an interrupted run: %s",
                            contract.id, summary.recovered_files, plan.orphans[:5])  # fmt: skip
            fault("after_orphan_cleanup")
            plan, committed, starts = _checked_starts(
                lake, contract, consumer, partitions, plan,
                accept_gap=accept_gap, new_topic_generation=new_topic_generation, rewind_group=rewind_group,
            )  # fmt: skip
            summary.start_offsets = dict(starts)
            behind = {p: o for p, o in starts.items() if o is not None and (committed.get(p) is None or committed[p] < o)}
            if behind:  # the lake is ahead of the group (crash between ledger and commit): roll forward
                consumer.commit(behind)
            workers = max(1, min(config.workers, len(partitions)))
            if workers == 1:
                consumer.assign(starts)
                _consume_loop(contract, consumer, validator, lake, pseudonymiser, config, conn, summary)
        finally:
            consumer.close()
        if workers > 1:
            stamp = (consumer.generation, consumer.topic_id)
            _run_workers(contract, starts, workers, validator, lake, pseudonymiser, config, conn, summary, stamp)
    summary.duration_s = time.perf_counter() - started
    if summary.rows_disputed:
        log.error("%s: %d row(s) quarantined as gate.disagreement in this run need attention (gdx status)",
                  contract.id, summary.rows_disputed)  # fmt: skip
    log.info(
        "%s: %d records in %d batch(es), %d landed, %d quarantined (%s), %.0f records/s",
        contract.id, summary.rows_in, len(summary.batches), summary.rows_landed, summary.rows_quarantined,
        dict(summary.quarantined_by_rule.most_common(5)), summary.records_per_s,
    )  # fmt: skip
    return summary


def _checked_starts(
    lake: Lake,
    contract: Contract,
    consumer: BatchConsumer,
    partitions: list[int],
    plan: recovery.RecoveryPlan,
    *,
    accept_gap: bool,
    new_topic_generation: bool,
    rewind_group: bool = False,
) -> tuple[recovery.RecoveryPlan, dict[int, int | None], dict[int, int | None]]:
    """Start offsets checked by `gdx.ingest.offsets` (after recording a requested resolution);
    stamps the consumer with the generation and topic id its batches belong to. Raises
    `OffsetsDisagree` before anything is consumed."""
    from gdx.ingest import offsets, resolutions

    topic_id = consumer.current_topic_id()
    if new_topic_generation:
        expected = plan.generation_topic_id or next((t for t in plan.ledger_topic_ids.values() if t), None)
        if topic_id is not None and topic_id == expected:
            raise IngestError(
                f"{contract.id}: --new-topic-generation refused: {contract.topic} still has topic id {topic_id}, the one"
                f" generation {plan.generation} was read from (the topic was not recreated)"
            )
        generation = plan.generation + 1
        resolutions.record(lake, contract, [resolutions.new(contract, resolutions.NEW_TOPIC_GENERATION, generation, topic_id=topic_id)])
        # offsets restart with the new topic: the group's offsets of the old one mean nothing now
        consumer.commit(dict.fromkeys(partitions, 0))
        log.warning("%s: started topic generation %d (topic id %s) at offset 0", contract.id, generation, topic_id)
        plan = recovery.scan(lake, contract)
    for _ in range(3):  # an accepted group-ahead range can uncover a retention gap behind it
        committed = consumer.committed(partitions)
        watermarks = {p: consumer.watermarks(p) for p in partitions}
        decisions = offsets.plan(
            plan.facts(partitions, committed, watermarks), topic_id=topic_id,
            generation_topic_id=plan.generation_topic_id, generation_start=plan.generation_start,
        )  # fmt: skip
        problems = [pr for d in decisions.values() for pr in d.problems]
        if not problems:
            break
        ahead = [pr for pr in problems if pr.kind == offsets.GROUP_AHEAD]
        if rewind_group and ahead and len(ahead) == len(problems):
            kind = resolutions.REWIND_GROUP  # the lake wins: read [ledger next, committed) again
        elif accept_gap and all(pr.acceptable for pr in problems):
            kind = resolutions.ACCEPT_GAP
        else:
            message = offsets.operator_message(contract.id, contract.topic, plan.generation, problems)
            raise OffsetsDisagree(message, problems)
        rows: list[resolutions.Resolution] = []
        for pr in problems:
            rows.append(
                resolutions.new(
                    contract, kind, plan.generation, topic_id=topic_id, partition=pr.partition, first_offset=pr.first,
                    end_offset=pr.end, problem=pr.kind, resolution_id=rows[0].resolution_id if rows else None,
                )  # fmt: skip
            )
        if kind == resolutions.REWIND_GROUP:
            consumer.commit({pr.partition: pr.first for pr in problems if pr.first is not None})
        resolutions.record(lake, contract, rows)
        log.warning("%s: %s %s", contract.id, kind, [(pr.partition, pr.first, pr.end, pr.kind) for pr in problems])
        plan = recovery.scan(lake, contract)
    else:
        raise IngestError(f"{contract.id}: offset problems remain after resolving them: {problems}")
    consumer.generation, consumer.topic_id = plan.generation, topic_id
    return plan, committed, {p: d.start for p, d in decisions.items()}


def _consume_loop(
    contract: Contract,
    consumer: BatchConsumer,
    validator: Validator,
    lake: Lake,
    pseudonymiser: Pseudonymiser,
    config: IngestConfig,
    conn: KafkaConnection,
    summary: RunSummary,
) -> None:
    """Batches until caught up or `config.max_records`: the body of a run (or of one worker)."""
    dlq: LazyDeadLetterPublisher | None = None
    if config.dlq:
        from gdx.ingest.dlq import LazyDeadLetterPublisher

        dlq = LazyDeadLetterPublisher(conn, contract)
    try:
        remaining = config.max_records
        while remaining is None or remaining > 0:
            limit = config.batch_max_records if remaining is None else min(remaining, config.batch_max_records)
            # Consuming and decoding allocate millions of small objects that live until the
            # batch is written: the cyclic GC would rescan them again and again (measured:
            # 2x the CPU of Message.headers()) without freeing anything. Refcounting frees
            # the batch; a young-generation collection between batches catches any cycle.
            with gc_paused():
                t0 = time.perf_counter()
                raw, caught_up = consumer.poll_batch(
                    limit, config.batch_max_bytes, config.batch_max_seconds, config.idle_timeout_s
                )
                summary.timings["consume"] += time.perf_counter() - t0
                fault("after_consume")
                if len(raw):
                    _land_batch(contract, raw, validator, lake, consumer, dlq, pseudonymiser, config, summary)
                    if remaining is not None:
                        remaining -= len(raw)
                del raw
            gc.collect(1)
            if caught_up:
                break
    finally:
        if dlq is not None:
            dlq.close()


def _run_workers(
    contract: Contract,
    starts: dict[int, int | None],
    workers: int,
    validator: Validator,
    lake: Lake,
    pseudonymiser: Pseudonymiser,
    config: IngestConfig,
    conn: KafkaConnection,
    summary: RunSummary,
    stamp: tuple[int, str | None] = (0, None),
) -> None:
    """Partition-parallel ingestion: `workers` forked processes, each with its own consumer over a
    disjoint set of partitions (batches, files, ledger entries and commits are per partition, so
    they never touch each other's state). Forked, not spawned: the children inherit the open lock
    file, so the dataset lock stays held until the last of them exits — even if this process is
    killed — and GX, imported here once, is shared copy-on-write instead of imported per worker."""
    import multiprocessing
    from dataclasses import replace

    from gdx.ingest.gate import _gx_context

    _gx_context()
    parts = sorted(starts)
    groups = [parts[i::workers] for i in range(workers)]
    per_worker = None if config.max_records is None else -(-config.max_records // workers)
    worker_config = replace(config, max_records=per_worker, workers=1)
    ctx = multiprocessing.get_context("fork")
    pipes, procs = [], []
    for group in groups:
        receive, send = ctx.Pipe(duplex=False)
        proc = ctx.Process(
            target=_worker_main,
            args=(send, contract, {p: starts[p] for p in group}, validator, lake, pseudonymiser, worker_config, conn, stamp),
            name=f"gdx-ingest-{contract.id}-{'-'.join(map(str, group))}",
        )
        proc.start()
        send.close()
        pipes.append(receive)
        procs.append((proc, group))
    failures = []
    for receive, (proc, group) in zip(pipes, procs, strict=True):
        result = None
        try:
            result = receive.recv()
        except EOFError:
            pass
        proc.join()
        if isinstance(result, RunSummary) and proc.exitcode == 0:
            _merge(summary, result)
        else:
            failures.append(f"partitions {group}: {result if isinstance(result, str) else f'exit code {proc.exitcode}'}")
    if failures:
        raise IngestError(f"{contract.id}: worker(s) failed ({'; '.join(failures)}); committed batches stay, rerun to continue")


def _worker_main(
    send: Any,
    contract: Contract,
    starts: dict[int, int | None],
    validator: Validator,
    lake: Lake,
    pseudonymiser: Pseudonymiser,
    config: IngestConfig,
    conn: KafkaConnection,
    stamp: tuple[int, str | None] = (0, None),
) -> None:
    from gdx.ingest.consumer import BatchConsumer, group_id

    summary = RunSummary(contract.id, contract.topic)
    try:
        consumer = BatchConsumer(conn, contract.topic, group_id(contract.id), *stamp)
        try:
            consumer.assign(starts)
            _consume_loop(contract, consumer, validator, lake, pseudonymiser, config, conn, summary)
        finally:
            consumer.close()
        send.send(summary)
    except BaseException as exc:
        send.send(f"{type(exc).__name__}: {exc}"[:2000])
        raise
    finally:
        send.close()


def _merge(into: RunSummary, part: RunSummary) -> None:
    into.rows_in += part.rows_in
    into.rows_landed += part.rows_landed
    into.rows_quarantined += part.rows_quarantined
    into.rows_disputed += part.rows_disputed
    into.batches += part.batches
    into.quarantined_by_rule.update(part.quarantined_by_rule)
    into.gx_evaluated += part.gx_evaluated
    into.gx_failed_checks.update(part.gx_failed_checks)
    into.gate_ran = into.gate_ran or part.gate_ran
    into.next_offsets.update(part.next_offsets)
    for k, v in part.timings.items():
        into.timings[k] = max(into.timings[k], v)  # workers run side by side: the slowest counts


def _now() -> datetime:
    return datetime.now(UTC)


def land_raw_batch(
    contract: Contract,
    raw: RawBatch,
    validator: Validator,
    lake: Lake,
    pseudonymiser: Pseudonymiser,
    config: IngestConfig,
    *,
    dlq: LazyDeadLetterPublisher | None = None,
    clock: Callable[[], datetime] = _now,
    timings: Counter[str] | None = None,
) -> tuple[Validated, list[ledger.LedgerEntry]]:
    """Steps 1–4 of one consumed batch: validate, bronze + quarantine files, dead letters (when a
    `dlq` is given), ledger entries (the commit point). Committing the consumer offsets (step 5)
    is the caller's. `clock` stamps `_ingested_at`, `started_at` and `finished_at` (the wall clock;
    test lakes pass a fixed one so the same records always give the same bytes)."""
    timings = Counter() if timings is None else timings
    batch_started = clock()
    t0 = time.perf_counter()
    validated = validator.validate(raw)
    t1 = time.perf_counter()
    timings["validate"] += t1 - t0
    timings["gate"] += validated.gate.duration_s
    entries, letters = write_batch_files(contract, raw, validated, lake, pseudonymiser, config, batch_started)
    timings["write"] += time.perf_counter() - t1
    if dlq is not None and letters:
        t2 = time.perf_counter()
        dlq.publish(letters)
        timings["dlq"] += time.perf_counter() - t2
    fault("after_dlq_publish")
    finished = clock()
    written: list[ledger.LedgerEntry] = []
    for name, entry in entries:
        entry = ledger.LedgerEntry(
            **{**asdict(entry), "finished_at": finished, "duration_s": (finished - batch_started).total_seconds()}
        )
        ledger.write(lake, contract, name, entry)
        fault("after_ledger_write")
        written.append(entry)
    return validated, written


def _land_batch(
    contract: Contract,
    raw: RawBatch,
    validator: Validator,
    lake: Lake,
    consumer: BatchConsumer,
    dlq: LazyDeadLetterPublisher | None,
    pseudonymiser: Pseudonymiser,
    config: IngestConfig,
    summary: RunSummary,
) -> None:
    validated, entries = land_raw_batch(
        contract, raw, validator, lake, pseudonymiser, config, dlq=dlq, timings=summary.timings
    )
    next_offsets = {entry.partition: entry.last_offset + 1 for entry in entries}
    fault("before_offset_commit")
    consumer.commit(next_offsets)
    fault("after_offset_commit")

    gate = validated.gate
    summary.gate_ran = summary.gate_ran or gate.ran
    summary.gx_evaluated += gate.evaluated
    for check in gate.checks:
        if not check.success:
            summary.gx_failed_checks[check.check] += check.unexpected_count
    summary.rows_in += validated.n
    summary.rows_landed += validated.rows_landed
    summary.rows_quarantined += validated.rows_quarantined
    summary.rows_disputed += validated.disputed()
    summary.quarantined_by_rule.update(f.rule_id for f in validated.failures.values())
    summary.next_offsets.update(next_offsets)
    for entry in entries:
        summary.batches.append(
            BatchSummary(
                entry.batch_id, entry.partition, entry.first_offset, entry.last_offset,
                _day(entry), entry.rows_in, entry.rows_landed, entry.rows_quarantined,
                entry.bronze_path, entry.quarantine_path,
            )  # fmt: skip
        )


def _day(entry: ledger.LedgerEntry) -> str:
    from gdx.ingest.paths import day_of

    return day_of(entry.bronze_path or entry.quarantine_path or "") or ""


def write_batch_files(
    contract: Contract,
    raw: RawBatch,
    validated: Validated,
    lake: Lake,
    pseudonymiser: Pseudonymiser,
    config: IngestConfig,
    batch_started: datetime,
) -> tuple[list[tuple[BatchName, ledger.LedgerEntry]], list[Any]]:
    """Steps 1–2 for every partition of the batch; returns the ledger entries to write (step 4)
    and the dead letters to publish (step 3)."""
    import numpy as np

    from gdx.ingest.dlq import DeadLetter, error_headers
    from gdx.ingest.landing import masks_hard, raw_text

    parts = np.asarray(raw.partitions, dtype=np.int64)
    offs = np.asarray(raw.offsets, dtype=np.int64)
    failed_rows = np.asarray(sorted(validated.failures), dtype=np.int64)
    entries: list[tuple[BatchName, ledger.LedgerEntry]] = []
    letters: list[DeadLetter] = []
    gate = validated.gate
    for p in sorted(set(raw.partitions)):
        in_p = np.flatnonzero(parts == p)
        first, last = int(offs[in_p].min()), int(offs[in_p].max())
        name = BatchName(raw.topic, int(p), first, last, generation=raw.generation)
        day = ingest_date(raw.timestamps[int(in_p[np.argmin(offs[in_p])])])
        landed = validated.landed[parts[validated.landed] == p]
        failed = failed_rows[parts[failed_rows] == p] if len(failed_rows) else failed_rows
        bronze_rel = quarantine_rel = None
        if len(landed):
            columns = validated.properties.take(landed)
            preset = {
                prop_name: [tokens.get(int(i)) for i in landed]
                for prop_name, tokens in validated.token_override.items()
            }
            table = bronze_table(
                contract,
                columns,
                topic=raw.topic,
                partitions=parts[landed],
                offsets=offs[landed],
                timestamps_ms=[raw.timestamps[i] for i in landed],
                event_ids=[validated.event_ids[i] for i in landed],  # type: ignore[misc]
                batch_id=name.stem,
                ingested_at=batch_started,
                pseudonymiser=pseudonymiser,
                preset_tokens=preset,
                event_ids_keyed=validated.event_ids_keyed,
            )
            bronze_rel = bronze_path(contract, day, name)
            lake.write_parquet(bronze_rel, table, config.zstd_level)
        fault("after_bronze_write")
        if len(failed):
            rows = [
                (int(p), int(offs[i]), raw.timestamps[i], validated.event_ids[i], raw.values[i],
                 validated.failures[int(i)], validated.extra.get(int(i), 0))
                for i in failed
            ]  # fmt: skip
            table, texts = quarantine_rows(
                contract, topic=raw.topic, rows=rows, batch_id=name.stem, ingested_at=batch_started, pseudonymiser=pseudonymiser
            )
            quarantine_rel = quarantine_path(contract, day, name)
            lake.write_parquet(quarantine_rel, table, config.zstd_level)
            personal = bool(contract.pii_properties)
            eids = table.column("_event_id").to_pylist()
            for i, (part, off, ts, _eid, value, failure, _more), text, eid in zip(failed.tolist(), rows, texts, eids, strict=True):
                # The dead letter carries what the quarantine holds (masked text, ciphertext), for
                # every contract and failure kind; the original bytes only when masking changed
                # nothing on a contract without personal data (so they can be reprocessed as is).
                as_is = not personal and text == raw_text(value)
                dlq_value = value if as_is else (text.encode() if text is not None else None)
                key = raw.keys[i]
                dlq_key = key
                if key:
                    key_text = key.decode("utf-8", "backslashreplace")
                    masked_key = pseudonymiser.mask_text(key_text, masks_hard(contract, failure))
                    dlq_key = key if masked_key == key_text else masked_key.encode()
                headers = error_headers(
                    topic=raw.topic, partition=part, offset=off, timestamp_ms=ts, stage=failure.stage,
                    rule=failure.rule_id, column=failure.column, reason=failure.reason, contract=contract,
                    batch_id=name.stem, masked=not as_is,
                )  # fmt: skip
                if eid is not None:
                    headers.append(("gdx.event.id", eid.encode()))
                letters.append(DeadLetter(dlq_key, dlq_value, headers))
        fault("after_quarantine_write")
        entries.append(
            (
                name,
                ledger.LedgerEntry(
                    batch_id=name.stem, contract_id=contract.id, contract_version=contract.version,
                    agency=contract.agency, dataset=contract.dataset, topic=raw.topic, partition=int(p),
                    first_offset=first, last_offset=last, rows_in=len(in_p), rows_landed=len(landed),
                    rows_quarantined=len(failed), gx_success=gate.success, gx_evaluated_expectations=gate.evaluated,
                    gx_successful_expectations=gate.successful, started_at=batch_started, finished_at=batch_started,
                    duration_s=0.0, bronze_path=bronze_rel, quarantine_path=quarantine_rel,
                    rows_disputed=validated.disputed(failed), topic_id=raw.topic_id,
                ),  # fmt: skip
            )
        )
    return entries, letters
