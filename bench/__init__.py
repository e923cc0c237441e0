"""Benchmarks of GDX One Data: every stage against its limit and a naive baseline, in one run.

Run with `make bench` (`python -m bench`, see `bench/__main__.py` for the options). Not part of
`make test`. Modules: `stats` (pure helpers), `data` (inputs and ground truth), `bronze_gen`
(landed Parquet at any size), one `stage_*` module per stage, `naive` (the naive ingestion
baseline), `ingest_api` (the only place that calls the ingestion engine), `report` (table,
targets, JSON).
"""
