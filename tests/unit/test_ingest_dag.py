"""The ingestion DAG builder: house rules, the asset only on landing, the event-driven variant."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from gdx.contracts.model import load_all

CONTRACTS = sorted(cid for cid, c in load_all().items() if not c.is_seed)


@pytest.mark.parametrize("contract_id", CONTRACTS)
def test_ingest_dag_shape(contract_id: str) -> None:
    from gdx.orchestration.ingest_dag import build_ingest_dag

    contract = load_all()[contract_id]
    dag = build_ingest_dag(contract_id, event_driven=False)
    assert dag.dag_id == f"ingest_{contract.slug}"
    assert dag.owner == "gdx-data-engineering"
    assert {"gdx", "ingest", contract.agency, *contract.pilot_provinces} <= set(dag.tags)
    assert dag.default_args["retries"] == 2 and dag.default_args["retry_delay"]
    assert dag.catchup is False and dag.max_active_runs == 1
    assert dag.timetable.delta == timedelta(minutes=15)
    ingest, publish = dag.get_task("ingest"), dag.get_task("publish_bronze_asset")
    assert not ingest.outlets
    assert [a.uri for a in publish.outlets] == [f"gdx://bronze/{contract.agency}/{contract.dataset}"]
    assert publish.upstream_task_ids == {"ingest"}
    # one copy of the dataset's ingestion at a time: its own one-slot pool, in the generated pools file
    assert (ingest.pool, ingest.pool_slots) == (f"gdx_ingest_{contract.slug}", 1)
    assert publish.pool == "default_pool"
    pools = json.loads((Path(__file__).resolve().parents[2] / "dags" / "ingest_pools.json").read_text())
    assert pools[ingest.pool]["slots"] == 1


def test_dag_module_imports_nothing_heavy() -> None:
    import subprocess
    import sys

    code = (
        "import sys; import gdx.orchestration.ingest_dag as m; "
        "heavy = [x for x in ('great_expectations', 'pyarrow', 'confluent_kafka', 'pandas', 'kafka') if x in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_event_driven_variant_watches_the_topic() -> None:
    from gdx.orchestration.ingest_dag import build_ingest_dag

    dag = build_ingest_dag("pcd.air_quality_hourly", event_driven=True)
    condition = dag.timetable.asset_condition
    assets = list(condition.objects) if hasattr(condition, "objects") else [condition]
    watchers = [w for a in assets for w in a.watchers]
    assert watchers and watchers[0].trigger.kwargs["topics"] == ["gdx.pcd.air_quality_hourly.v1"]


def test_signal_carries_coordinates_only() -> None:
    from gdx.orchestration.ingest_dag import kafka_message_signal

    class Msg:
        def error(self) -> None:
            return None

        def value(self) -> bytes:
            return b'{"citizen_id": "1101700207544"}'

        def topic(self) -> str:
            return "t"

        def partition(self) -> int:
            return 1

        def offset(self) -> int:
            return 42

    assert kafka_message_signal(Msg()) == "t:1:42"


def test_every_contract_has_exactly_its_generated_dag_file() -> None:
    """One `dags/ingest_<agency>__<dataset>.py` per non-seed contract, calling the builder with its
    id; a missing file (a dataset Airflow would never ingest) or a stray one fails."""
    dags = Path(__file__).resolve().parents[2] / "dags"
    all_contracts = load_all()
    expected = {f"ingest_{all_contracts[cid].slug}.py": cid for cid in CONTRACTS}
    present = {p.name for p in dags.glob("ingest_*.py")}
    assert CONTRACTS, "no Kafka contract found"
    assert sorted(set(expected) - present) == [], "missing generated DAG files (run `gdx contracts generate`)"
    assert sorted(present - set(expected)) == [], "DAG files no contract generates"
    for name, contract_id in expected.items():
        assert f'build_ingest_dag("{contract_id}")' in (dags / name).read_text(), name
