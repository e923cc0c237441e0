"""`gdx replay CONTRACT --from-quarantine`: land quarantined rows that pass the current contract.

For each committed quarantine file (or the one of `--batch`), the rows not yet replayed are
re-validated — same decoder, rules and GX gate as ingestion, against the contract as it is now —
and those that pass land exactly once:

* bronze file `<quarantine file stem>.replay<k>.parquet` in the quarantine file's `ingest_date`
  partition, k = 1 + the replays of that file already committed (deterministic: a crashed replay
  is redone under the same name);
* a replay ledger `ledger/<agency>/<dataset>/_replay/<same name>.parquet`, one row per replayed
  record (topic, partition, offset): its existence commits the file, and its rows make a second
  replay skip those records, so it lands nothing new.

Not replayable: header failures (headers are not kept, and the record may belong to another
contract), invalid UTF-8 (the stored text is an escaped copy), tombstones and personal data that
arrived in clear (`<property>.not_encrypted`). Personal values in a quarantined payload are their
ciphertext (decrypted again, so a key version configured since then lets them land) or, in
payloads quarantined before field encryption, tokens: those were valid ids when tokenised, are
validated as checksum-valid stand-ins and land as the token.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gdx.ingest import ledger, recovery
from gdx.ingest.config import IngestConfig
from gdx.ingest.faults import fault
from gdx.ingest.landing import bronze_table
from gdx.ingest.model import RawBatch
from gdx.ingest.paths import BatchName, bronze_path, day_of, quarantine_root, replay_ledger_path
from gdx.ingest.runner import IngestError, load_ingestible
from gdx.ingest.validate import Validator, gc_paused

if TYPE_CHECKING:
    from gdx.contracts.model import Contract
    from gdx.ingest.lakefs import Lake
    from gdx.ingest.pii import Pseudonymiser
    from gdx.settings import Settings

log = logging.getLogger(__name__)

NOT_REPLAYABLE_PREFIXES = ("header.", "message.invalid_utf8", "message.null_value")
# Personal data that arrived in clear is never landed, not even by a replay: the agency re-publishes
# it encrypted. (Undecryptable ciphertext is replayable once the key version is configured.)
NOT_REPLAYABLE_SUFFIXES = (".not_encrypted",)


@dataclass
class ReplaySummary:
    contract_id: str
    quarantine_files: int = 0
    rows_considered: int = 0
    rows_already_replayed: int = 0
    rows_not_replayable: int = 0
    rows_landed: int = 0
    still_failing: Counter[str] = field(default_factory=Counter)
    files: list[str] = field(default_factory=list)
    duration_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        d = self.__dict__.copy()
        d["still_failing"] = dict(self.still_failing)
        return d


def run_replay(
    contract_id: str, batch: str | None = None, *, settings: Settings | None = None, config: IngestConfig | None = None
) -> ReplaySummary:
    from dataclasses import replace

    from gdx.ingest.lakefs import Lake
    from gdx.ingest.lease import dataset_guard
    from gdx.ingest.pii import PiiKeyError, Pseudonymiser, key_for
    from gdx.security.field_crypto import FieldDecryptor
    from gdx.security.field_keys import FieldKeyError
    from gdx.settings import Settings

    started = time.perf_counter()
    settings = settings or Settings.from_env()
    # Event ids are not re-derived: the quarantine kept each record's id (keyed for personal data).
    config = replace(config or IngestConfig.from_env(), verify_event_id=False)
    contract = load_ingestible(contract_id, settings)
    try:
        pseudonymiser = Pseudonymiser(key_for(contract, settings.pii_key))
        decryptor = FieldDecryptor.for_contract(contract, settings=settings)
    except (PiiKeyError, FieldKeyError) as exc:
        raise IngestError(str(exc)) from None
    lake = Lake(settings.lake_root)
    summary = ReplaySummary(contract.id)
    with dataset_guard(lake, settings.state_dir, contract.id, config.lock_timeout_s):
        recovery.clean(lake, recovery.scan(lake, contract))
        committed = {n.stem for n in ledger.committed_names(lake, contract)}
        files = []
        for f in lake.list(quarantine_root(contract)):
            name = BatchName.parse(f.path)
            if name is None or name.suffix or name.stem not in committed:
                continue
            if batch is None or batch in (name.stem, name.file_name):
                files.append((f.path, name))
        if batch is not None and not files:
            raise IngestError(f"no committed quarantine file for batch {batch!r} of {contract.id}")
        validator = Validator(contract, config, pseudonymiser, decryptor)
        for path, name in files:
            _replay_file(contract, lake, path, name, validator, pseudonymiser, config, summary)
    summary.duration_s = time.perf_counter() - started
    return summary


def _replay_file(
    contract: Contract,
    lake: Lake,
    path: str,
    name: BatchName,
    validator: Validator,
    pseudonymiser: Pseudonymiser,
    config: IngestConfig,
    summary: ReplaySummary,
) -> None:
    import numpy as np

    from gdx.events import headers_for

    done, replay_batches = ledger.replayed_offsets(lake, contract)
    q = lake.read_parquet(path).to_pylist()
    summary.quarantine_files += 1
    summary.rows_considered += len(q)
    rows = []
    for r in q:
        if (r["_kafka_topic"], r["_kafka_partition"], r["_kafka_offset"], name.generation) in done:
            summary.rows_already_replayed += 1
        elif (
            r["raw_value"] is None
            or r["_event_id"] is None
            or r["rule_id"].startswith(NOT_REPLAYABLE_PREFIXES)
            or r["rule_id"].endswith(NOT_REPLAYABLE_SUFFIXES)
        ):
            summary.rows_not_replayable += 1
        else:
            rows.append(r)
    if not rows:
        return
    raw = RawBatch(contract.topic)
    for r in rows:
        value = r["raw_value"].encode()
        raw.partitions.append(r["_kafka_partition"])
        raw.offsets.append(r["_kafka_offset"])
        raw.timestamps.append(int(r["_kafka_timestamp"].timestamp() * 1000))
        raw.keys.append(None)
        raw.values.append(value)
        raw.headers.append(headers_for(contract, value))
        raw.nbytes += len(value)
    with gc_paused():
        validated = validator.validate(raw, accept_tokens=bool(contract.pii_properties))
    validated.event_ids = [r["_event_id"] for r in rows]
    validated.event_ids_keyed = True
    summary.still_failing.update(f.rule_id for f in validated.failures.values())
    landed = validated.landed
    if not len(landed):
        return
    k = 1 + sum(1 for b in replay_batches if b.startswith(name.stem + ".replay"))
    replay_name = BatchName(name.topic, name.partition, name.first, name.last, f".replay{k}", name.generation)
    now = datetime.now(UTC)
    preset = {p: [tokens.get(int(i)) for i in landed] for p, tokens in validated.token_override.items()}
    table = bronze_table(
        contract,
        validated.properties.take(landed),
        topic=raw.topic,
        partitions=np.asarray(raw.partitions)[landed],
        offsets=np.asarray(raw.offsets)[landed],
        timestamps_ms=[raw.timestamps[i] for i in landed],
        event_ids=[validated.event_ids[i] for i in landed],  # type: ignore[misc]
        batch_id=replay_name.stem,
        ingested_at=now,
        pseudonymiser=pseudonymiser,
        preset_tokens=preset,
        event_ids_keyed=True,
    )
    day = day_of(path) or "unknown"
    target = bronze_path(contract, day, replay_name)
    lake.write_parquet(target, table, config.zstd_level)
    fault("after_replay_write")
    import pyarrow as pa

    entries = pa.Table.from_pylist(
        [
            {
                "replay_batch_id": replay_name.stem,
                "quarantine_batch_id": name.stem,
                "_kafka_topic": raw.topic,
                "_kafka_partition": raw.partitions[i],
                "_kafka_offset": raw.offsets[i],
                "contract_version": contract.version,
                "replayed_at": now,
                "bronze_path": target,
            }
            for i in landed.tolist()
        ],
        schema=ledger.replay_schema(),
    )
    replay_ledger = replay_ledger_path(contract, replay_name)
    lake.write_parquet(replay_ledger, entries)
    facts = {"kind": "replay", "replay_batch_id": replay_name.stem, "batch_id": name.stem, "rows": len(landed)}
    ledger.chain(lake, contract, replay_ledger, facts)
    summary.rows_landed += len(landed)
    summary.files.append(target)
    log.info("%s: replayed %d of %d rows of %s into %s", contract.id, len(landed), len(rows), name.stem, target)
