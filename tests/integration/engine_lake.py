"""Test lakes built by the engine: the deterministic fixture records (`gdx.testing.bronze_fixtures`
decides WHAT exists: revisions, gaps, edge cases) are published to the real broker with their
Kafka timestamps and landed by `gdx ingest` itself, so bronze, quarantine and ledger are exactly
what production writes (keyed `_event_id` for personal data, `_batch_id` = file stem, `rule_id`
as the engine names it).

Bad records: after every BAD_EVERY-th fixture event a copy with one undeclared property is
published; the engine quarantines it (`record.unknown_property`) and it changes nothing landed.
Then the lake is snapshot (`first`) and every fixture event is published a second time (new
offsets and Kafka timestamps after everything else, same values), as an agency re-sending its
topic would, and landed again (`lake`): marts and downloads must not change. Tests copy `first`
into their own folder, and `lake` over it when they need the second landing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

from gdx.testing.bronze_fixtures import FIXTURE_END, GENERATORS, _local, fixture_events
from tests.integration.ingest_fixtures import IngestEnv, Published, make_env, publish

BAD_EVERY = 400
BAD_RULE = "record.unknown_property"


@dataclass
class EngineLake:
    env: IngestEnv
    contract_ids: list[str]
    published: dict[str, list[Published]] = field(default_factory=dict)
    rows_landed: dict[str, int] = field(default_factory=dict)
    """Per contract: fixture events published (each lands once per publication)."""
    rows_quarantined: dict[str, int] = field(default_factory=dict)
    """Per contract: bad copies published (each is quarantined)."""
    build_s: float = 0.0
    first: Path | None = None
    """Copy of the lake after the first landing, before the re-publication."""

    @property
    def lake(self) -> Path:
        return self.env.lake

    def copy(self, target: Path, republished: bool = False) -> Path:
        """This lake (as first landed, or with the re-publication) copied into `target`."""
        import shutil

        assert self.first is not None
        shutil.copytree(self.lake if republished else self.first, target, dirs_exist_ok=True)
        return target

    @property
    def contracts_dir(self) -> Path:
        return self.env.contracts_dir


def _ms(ts: Any) -> int:
    return int(ts.astimezone(UTC).timestamp() * 1000)


def _create_topic(cluster: Any, topic: str) -> None:
    """One partition (offsets follow publish order) and no time retention: the fixture's Kafka
    timestamps are from 2023–2025 and would otherwise be deleted by the 7-day default."""
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient(cluster.admin.librdkafka())
    for f in admin.create_topics([NewTopic(topic, 1, 1, config={"retention.ms": "-1"})]).values():
        f.result(30)


def _ingest(env: IngestEnv, contract_id: str, expected: int) -> None:
    """`run_ingest` in this process under the environment's variables (a subprocess per dataset
    costs an interpreter start and the imports, most of the build time on a busy machine)."""
    import os

    from gdx.ingest.config import IngestConfig
    from gdx.ingest.runner import run_ingest

    saved = dict(os.environ)
    os.environ.update(env.env)
    os.environ.pop("GDX_FAULT", None)
    try:
        summary = run_ingest(contract_id, config=IngestConfig.from_env(batch_max_records=5000))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert summary.rows_in == expected, (contract_id, summary.rows_in, expected)


def build_engine_lake(root: Path, cluster: Any, only: list[str] | None = None) -> EngineLake:
    """Publish the fixture records of every Kafka contract with a generator (or `only` these) and
    land them with `gdx ingest`."""
    started = time.perf_counter()
    env = make_env(root, cluster)
    ids = sorted(cid for cid in GENERATORS if only is None or cid in only)
    built = EngineLake(env, ids)
    for cid in ids:
        contract = env.contract(cid)
        _create_topic(cluster, contract.topic)
        values, stamps, bad = [], [], 0
        for i, event in enumerate(fixture_events(cid)):
            values.append(event.value)
            stamps.append(_ms(event.published_at))
            if i % BAD_EVERY == BAD_EVERY - 1:
                values.append({**event.value, "fixture_undeclared": 1})
                stamps.append(_ms(event.published_at))
                bad += 1
        built.published[cid] = publish(cluster, contract, values, partitions=1, timestamps_ms=stamps)
        built.rows_landed[cid] = len(values) - bad
        built.rows_quarantined[cid] = bad
        _ingest(env, cid, len(values))
    import shutil

    built.first = shutil.copytree(env.lake, root / "first-landing")
    republish(built)
    built.build_s = time.perf_counter() - started
    return built


def republish(built: EngineLake) -> None:
    """Every fixture event once more, one second apart from the day after FIXTURE_END (09:00
    Bangkok), landed by `gdx ingest`. Nothing in it is quarantined."""
    start = _local(FIXTURE_END + timedelta(days=1), 9)
    for cid in built.contract_ids:
        contract = built.env.contract(cid)
        events = fixture_events(cid)
        stamps = [_ms(start + timedelta(seconds=i)) for i in range(len(events))]
        built.published[cid] += publish(
            built.env.cluster, contract, [e.value for e in events], partitions=1, timestamps_ms=stamps
        )
        _ingest(built.env, cid, len(events))
