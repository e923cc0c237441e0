"""Source file → adapter → normaliser → edge check → encryption → wire encoding → sink (Kafka or NDJSON).

One pass, streaming: rows are read, checked and sent one at a time, so memory stays flat for
large files (the adapters for JSON payloads parse the document whole, which is how those
sources arrive). Every source record ends up in exactly one of: published, failed (Kafka did
not acknowledge it), rejected (with every reason), or dropped as an exact duplicate (FIRMS).

Personal data: the edge check validates the clear value, then every personal-data property is
sealed for the platform (`gdx.security.field_crypto`) before the record is encoded, so neither the
topic nor a dry-run file ever holds it in clear. Rejects (the report, `<file>.rejects.ndjson`) have
citizen ids masked with `X`s — and, for a contract with personal data, every 13+ digit run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from gdx.contracts.model import Contract
from gdx.events import canonical_json, headers_for, record_key
from gdx.producer.edge_check import EdgeChecker
from gdx.producer.publish import (
    BROKER_MESSAGE_MAX_BYTES,
    PublishOptions,
    Sink,
    fewer_gc_pauses,
    make_publisher,
    oversize_reason,
)
from gdx.producer.report import Failure, ProduceResult, Reject, Violation
from gdx.security.field_crypto import FieldEncryptor
from gdx.security.field_keys import FieldKeyring
from gdx.security.kafka_conn import KafkaConnection

Progress = Callable[[int], None]
PROGRESS_EVERY = 5_000


def encode(
    contract: Contract, record: Mapping[str, Any], encryptor: FieldEncryptor | None = None
) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """(key, value, headers) of a checked, clear record, exactly as `gdx.events` defines them, with
    personal-data properties encrypted. A contract with personal data needs `encryptor`: there is
    no way to encode its records in clear by omission."""
    if encryptor is not None:
        record = encryptor.encrypt_record(record)
    elif contract.pii_properties:
        raise ValueError(f"{contract.id} declares personal data: encode() needs a FieldEncryptor")
    value = canonical_json(record)
    return record_key(contract, record), value, headers_for(contract, value)


def masked_reject(contract: Contract, reject: Reject) -> Reject:
    """`reject` with citizen ids masked in its values, reasons and raw record (see module doc)."""
    from gdx.ingest.pii import mask_value

    personal = bool(contract.pii_properties)
    violations = tuple(
        Violation(v.property, v.code, mask_value(v.reason, personal), mask_value(v.value, personal))
        for v in reject.violations
    )
    return Reject(reject.record, reject.line, violations, mask_value(reject.raw, personal))


class NdjsonSink:
    """Dry-run sink: writes what would be published, one JSON object per record.

    Each line is `{"topic", "key", "headers": {name: text}, "value": {...}}`, so a dry run can
    be diffed against what a consumer later reads from the topic.
    """

    def __init__(self, topic: str, out: Path | str | BinaryIO) -> None:
        self.topic = topic
        self._own = isinstance(out, str | Path)
        self._fh: BinaryIO = open(out, "wb") if isinstance(out, str | Path) else out
        self._n = 0

    def send(self, record_no: int, key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> None:
        line = {
            "topic": self.topic,
            "key": key.decode(),
            "headers": {k: v.decode() for k, v in headers},
            "value": orjson.Fragment(value),
        }
        self._fh.write(orjson.dumps(line) + b"\n")
        self._n += 1

    def close(self) -> tuple[int, list[Failure]]:
        if self._own:
            self._fh.close()
        else:
            self._fh.flush()
        return self._n, []


def _merge(first: list[Violation], later: list[Violation]) -> list[Violation]:
    """Adapter/normaliser violations first; edge-check ones only for properties not yet reported."""
    if not first:
        return later
    seen = {v.property for v in first}
    return first + [v for v in later if v.property is None or v.property not in seen]


def produce_rows(
    contract: Contract,
    rows: Iterable[Any],
    sink: Sink,
    result: ProduceResult,
    *,
    max_request_size: int = BROKER_MESSAGE_MAX_BYTES,
    progress: Progress | None = None,
    encryptor: FieldEncryptor | None = None,
) -> ProduceResult:
    """Normalise, check and send `SourceRow`s; fills `result` (closes the sink at the end).

    `encryptor`: for a contract with personal data (default: from the configured public keys)."""
    from gdx.adapters.normalize import Normaliser

    if encryptor is None and contract.pii_properties:
        try:
            encryptor = FieldEncryptor.for_contract(contract)
        except Exception:
            sink.close()
            raise
    normalise = Normaliser(contract).normalise
    check = EdgeChecker(contract).check
    rejects = result.rejects
    read = normalised = 0
    started = time.perf_counter()
    try:
        for row in rows:
            read += 1
            record, violations = normalise(row.values)
            if row.violations:
                violations = row.violations + violations
            edge = check(record)
            if violations or edge:
                rejects.append(
                    masked_reject(contract, Reject(row.record, row.line, tuple(_merge(violations, edge)), row.raw))
                )
            else:
                key, value, headers = encode(contract, record, encryptor)
                reason = oversize_reason(key, value, headers, max_request_size)
                if reason is not None:
                    rejects.append(
                        masked_reject(
                            contract,
                            Reject(
                                row.record, row.line, (Violation(None, "too_large", reason, len(value)),), row.raw
                            ),
                        )
                    )
                else:
                    normalised += 1
                    sink.send(row.record, key, value, headers)
            if progress is not None and read % PROGRESS_EVERY == 0:
                progress(read)
    finally:
        published, failures = sink.close()
        result.read += read
        result.normalised += normalised
        result.published += published
        result.failures.extend(failures)
        result.seconds += time.perf_counter() - started
        if progress is not None:
            progress(read)
    return result


def produce_file(
    contract: Contract,
    path: Path | str,
    fmt: str = "auto",
    *,
    connection: KafkaConnection | None = None,
    options: PublishOptions | None = None,
    dry_run_out: Path | str | BinaryIO | None = None,
    progress: Progress | None = None,
    keyring: FieldKeyring | None = None,
) -> ProduceResult:
    """Publish an agency file under `contract` (or write what would be published, in a dry run).

    Raises `UnknownFormat`/`ValueError` for a file the adapter cannot read at all (nothing is
    sent then); per-record problems become rejects in the result instead. A contract with
    personal data needs a field public key (`keyring`, default: configuration): FieldKeyError,
    before anything is read or sent, when there is none.
    """
    from gdx.adapters.registry import resolve

    if not contract.topic:
        raise ValueError(f"{contract.id} is a reference dataset (dbt seed), not published on Kafka")
    encryptor = FieldEncryptor.for_contract(contract, keyring)
    path = Path(path)
    adapter = resolve(fmt, path)
    stats: dict[str, int] = {}
    rows = adapter.read(path, contract, stats)
    options = options or PublishOptions()
    result = ProduceResult(contract.id, contract.topic, dry_run=dry_run_out is not None)
    sink: Sink
    if dry_run_out is not None:
        sink = NdjsonSink(contract.topic, dry_run_out)
    else:
        if connection is None:
            raise ValueError("a Kafka connection is required unless this is a dry run")
        sink = make_publisher(contract, connection, options)
    with fewer_gc_pauses():
        produce_rows(
            contract,
            rows,
            sink,
            result,
            max_request_size=options.max_request_size,
            progress=progress,
            encryptor=encryptor,
        )
    result.duplicates_dropped = stats.get("duplicates_dropped", 0)
    result.read += result.duplicates_dropped
    return result


def publish_records(
    contract: Contract,
    records: Iterable[Mapping[str, Any]],
    connection: KafkaConnection,
    options: PublishOptions | None = None,
    *,
    check: bool = True,
    progress: Progress | None = None,
    keyring: FieldKeyring | None = None,
) -> ProduceResult:
    """Publish already-normalised, clear records (benchmarks, tests, other services) with the edge
    check; personal-data properties are encrypted with the newest public key of `keyring`
    (default: configuration).

    `check=False` skips the edge check for records the caller has just validated itself.
    """
    options = options or PublishOptions()
    result = ProduceResult(contract.id, contract.topic)
    checker = EdgeChecker(contract).check if check else None
    encryptor = FieldEncryptor.for_contract(contract, keyring)
    started = time.perf_counter()
    n = ok = 0
    sink = make_publisher(contract, connection, options)
    with fewer_gc_pauses():
        try:
            for n, record in enumerate(records, start=1):
                if checker is not None:
                    violations = checker(record)
                    if violations:
                        result.rejects.append(masked_reject(contract, Reject(n, None, tuple(violations), dict(record))))
                        continue
                key, value, headers = encode(contract, record, encryptor)
                reason = oversize_reason(key, value, headers, options.max_request_size)
                if reason is not None:
                    result.rejects.append(
                        Reject(n, None, (Violation(None, "too_large", reason, len(value)),), None)
                    )
                    continue
                ok += 1
                sink.send(n, key, value, headers)
                if progress is not None and n % PROGRESS_EVERY == 0:
                    progress(n)
        finally:
            published, failures = sink.close()
    result.read, result.normalised, result.published = n, ok, published
    result.failures.extend(failures)
    result.seconds = time.perf_counter() - started
    return result
