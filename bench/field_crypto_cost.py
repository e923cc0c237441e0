"""What field-level encryption of personal data costs: `python -m bench.field_crypto_cost`.

In-process, no broker, on `--records` generated informal-debt records (`moi.informal_debt_cases`,
one personal-data property), median of `--repeats`:

* publish side: edge check + wire encoding per record, with encryption (`gdx.producer.encode` with
  a `FieldEncryptor`) against the same loop encoding the clear record (what the pipeline did
  before; never published any more);
* ingest side: `Validator.validate` (decode → rule columns → GX gate) of sealed records, and the
  decryption step alone (`FieldDecryptor.open_many`, 1 thread and the default), against decoding
  the same records with the personal value already in clear (decryption skipped).

A throwaway key pair is generated in memory; nothing is written.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any


def _median(fn: Any, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    from nacl.public import PrivateKey

    from gdx.contracts.model import get_contract
    from gdx.events import canonical_json, headers_for, record_key
    from gdx.ingest.config import IngestConfig
    from gdx.ingest.decode import Decoder
    from gdx.ingest.model import RawBatch
    from gdx.ingest.pii import PiiKey, Pseudonymiser
    from gdx.ingest.validate import Validator, gc_paused
    from gdx.producer.edge_check import EdgeChecker
    from gdx.producer.pipeline import encode
    from gdx.sample import valid_records
    from gdx.security.field_crypto import FieldDecryptor, FieldEncryptor
    from gdx.security.field_keys import FieldKeyring

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    n = args.records

    moi = get_contract("moi.informal_debt_cases")
    ring = FieldKeyring.build({}, {"k1": bytes(PrivateKey.generate())})
    enc, dec = FieldEncryptor(moi, ring), FieldDecryptor(moi, ring)
    records = list(valid_records(moi.id, n, seed=1))
    check = EdgeChecker(moi).check

    def publish_clear() -> None:
        for r in records:
            if not check(r):
                v = canonical_json(r)
                record_key(moi, r), headers_for(moi, v)

    def publish_sealed() -> None:
        for r in records:
            if not check(r):
                encode(moi, r, enc)

    with gc_paused():
        t_clear = _median(publish_clear, args.repeats)
        t_sealed = _median(publish_sealed, args.repeats)
    print(f"publish side, {n:,} records: edge+encode clear {n / t_clear:,.0f} rec/s ({t_clear:.2f} s); "
          f"with encryption {n / t_sealed:,.0f} rec/s ({t_sealed:.2f} s): +{t_sealed - t_clear:.2f} s, "
          f"{(t_sealed - t_clear) / n * 1e6:.0f} µs/record")  # fmt: skip

    def raw_of(values: list[bytes]) -> RawBatch:
        raw = RawBatch(moi.topic)
        for i, v in enumerate(values):
            raw.partitions.append(i % 3)
            raw.offsets.append(i // 3)
            raw.timestamps.append(1_709_272_800_000 + i)
            raw.keys.append(None)
            raw.values.append(v)
            raw.headers.append(headers_for(moi, v))
        return raw

    sealed_raw = raw_of([canonical_json(enc.encrypt_record(r)) for r in records])
    clear_raw = raw_of([canonical_json(r) for r in records])
    config = IngestConfig(batch_max_records=n)
    pseudo = Pseudonymiser(PiiKey.parse("k1:" + "b" * 32))
    validator = Validator(moi, config, pseudo, dec)
    wires = [enc.encrypt_record({"citizen_id": r["citizen_id"]})["citizen_id"] for r in records]

    class _NoDecrypt(Decoder):  # the clear baseline: the same decoder with the decryption step skipped
        def _decrypt(self, prop: Any, col: Any, failures: Any, accept_tokens: bool) -> Any:
            return col

    base = Validator(moi, config, pseudo, dec)
    base.decoder = _NoDecrypt(moi, config, pseudo, dec)
    with gc_paused():
        validator.validate(sealed_raw)  # warm GX up
        t_val_sealed = _median(lambda: validator.validate(sealed_raw), args.repeats)
        t_val_clear = _median(lambda: base.validate(clear_raw), args.repeats)
        one = FieldDecryptor(moi, ring, threads=1)
        t_open1 = _median(lambda: one.open_many("citizen_id", wires), args.repeats)
        t_open = _median(lambda: dec.open_many("citizen_id", wires), args.repeats)
    assert not validator.validate(sealed_raw).failures
    print(f"ingest side, {n:,} records: validate (decode+rules+GX) with decryption {n / t_val_sealed:,.0f} rec/s "
          f"({t_val_sealed:.2f} s), clear baseline {n / t_val_clear:,.0f} rec/s ({t_val_clear:.2f} s): "
          f"+{t_val_sealed - t_val_clear:.2f} s")  # fmt: skip
    print(f"decryption alone: {n / t_open1:,.0f} values/s on 1 thread ({t_open1:.2f} s), "
          f"{n / t_open:,.0f} values/s on {dec.threads} threads ({t_open:.2f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
