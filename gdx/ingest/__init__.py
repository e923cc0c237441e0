"""Ingestion: a contract's Kafka topic → validated bronze Parquet + quarantine, exactly once.

    consumer   bounded batches, manual commits, read_committed            (consumer.py)
    decode     types every record against `to_arrow_schema`, hostile input → failures (decode.py)
    rules      `_rule_*` columns the GX suite asserts                      (rules.py)
    gate       the contract's GX 1.x suite, cross-checked row by row       (gate.py, predict.py)
    pii        HMAC tokens for personal data, masking of raw text          (pii.py)
    landing    bronze / quarantine tables                                  (landing.py)
    lakefs     atomic durable Parquet writes, local or S3                  (lakefs.py)
    dlq        dead letters with context headers                           (dlq.py)
    ledger     the per-batch commit record                                 (ledger.py)
    recovery   orphan cleanup and resume offsets from the lake             (recovery.py)
    locking    one run per dataset                                         (locking.py)
    runner     the whole run; replay / status for the CLI                  (runner.py, replay.py, status.py)

Entry points: `gdx.ingest.runner.run_ingest` (Airflow task, `gdx ingest`),
`gdx.ingest.replay.run_replay` (`gdx replay`), `gdx.ingest.status.dataset_status` (`gdx status`).
"""
