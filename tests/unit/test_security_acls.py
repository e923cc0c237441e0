"""ACLs derived from the contracts (gdx.security.acls): the desired set, the plan and its text."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gdx.agencies import load_agencies
from gdx.contracts.model import load_all
from gdx.security.acls import (
    AclError,
    Binding,
    dataset_of,
    desired_bindings,
    format_plan,
    from_kafka,
    is_managed,
    managed_principals,
    plan,
    to_kafka,
)
from tests.contract_copies import CONTRACTS, copy_contracts, read_grant, set_roles

DEBT = "gdx.moi.informal_debt_cases.v1"
AIR = "gdx.pcd.air_quality_hourly.v1"


@pytest.fixture(scope="module")
def shipped() -> set[Binding]:
    return desired_bindings(load_all(CONTRACTS), load_agencies(CONTRACTS))


def _who(bindings: set[Binding], operation: str, topic: str) -> set[str]:
    return {
        b.user
        for b in bindings
        if b.operation == operation and b.resource_type == "TOPIC" and b.resource_name == topic
    }


def _of(bindings: set[Binding], user: str) -> set[tuple[str, str, str, str]]:
    return {
        (b.resource_type, b.pattern_type, b.resource_name, b.operation) for b in bindings if b.user == user
    }


def _desired(contracts_dir: Path) -> set[Binding]:
    return desired_bindings(load_all(contracts_dir), load_agencies(contracts_dir))


def test_shipped_topics_are_read_only_by_ingestion_and_granted_agencies(shipped: set[Binding]) -> None:
    contracts = [c for c in load_all(CONTRACTS).values() if c.topic]
    assert len(contracts) == 6
    assert _who(shipped, "READ", DEBT) == {"gdx-ingest", "dopa"}
    assert _who(shipped, "READ", AIR) == {"gdx-ingest", "gistda"}
    for contract in contracts:
        if contract.topic not in (DEBT, AIR):
            assert _who(shipped, "READ", contract.topic) == {"gdx-ingest"}, contract.id
        # nobody reads a dead-letter topic but the super user; only ingestion writes one
        assert _who(shipped, "READ", contract.dlq_topic) == set()
        assert _who(shipped, "WRITE", contract.dlq_topic) == {"gdx-ingest"}
        assert _who(shipped, "CREATE", contract.dlq_topic) == {"gdx-ingest"}
        # only the owner writes (and creates) its topic: no agency may write another's
        assert _who(shipped, "WRITE", contract.topic) == {contract.agency}, contract.id
        assert _who(shipped, "CREATE", contract.topic) == {contract.agency}, contract.id
        assert _who(shipped, "DESCRIBE", contract.topic) == {
            "gdx-ingest",
            "gdx-catalog",
            contract.agency,
        } | set(contract.readers)


def test_shipped_bindings_per_principal(shipped: set[Binding]) -> None:
    assert _of(shipped, "dopa") == {
        ("TOPIC", "LITERAL", DEBT, "READ"),
        ("TOPIC", "LITERAL", DEBT, "DESCRIBE"),
        ("GROUP", "PREFIXED", "dopa.", "READ"),
    }
    assert _of(shipped, "moi") == {
        ("TOPIC", "LITERAL", DEBT, "WRITE"),
        ("TOPIC", "LITERAL", DEBT, "DESCRIBE"),
        ("TOPIC", "LITERAL", DEBT, "CREATE"),
        ("CLUSTER", "LITERAL", "kafka-cluster", "IDEMPOTENT_WRITE"),
    }
    gistda = _of(shipped, "gistda")
    assert ("TOPIC", "LITERAL", AIR, "READ") in gistda and ("GROUP", "PREFIXED", "gistda.", "READ") in gistda
    assert ("TOPIC", "LITERAL", "gdx.gistda.fire_hotspots.v1", "WRITE") in gistda
    catalog = _of(shipped, "gdx-catalog")
    assert {op for *_, op in catalog} == {"DESCRIBE"}  # status/lag only: it cannot read a record
    assert ("GROUP", "PREFIXED", "gdx.ingest.", "DESCRIBE") in catalog
    ingest_groups = {(t, p, n, o) for t, p, n, o in _of(shipped, "gdx-ingest") if t != "TOPIC"}
    assert ingest_groups == {
        ("GROUP", "PREFIXED", "gdx.ingest.", "READ"),
        ("GROUP", "PREFIXED", "gdx.watch.", "READ"),
        ("CLUSTER", "LITERAL", "kafka-cluster", "IDEMPOTENT_WRITE"),
    }
    # the super user needs nothing; an agency that owns and is granted nothing gets nothing
    assert _of(shipped, "gdx-admin") == set() and _of(shipped, "nso") == set()
    # least privilege: no ALL, no wildcard, no prefixed topic, no DENY, every host
    for b in shipped:
        assert (
            b.operation != "ALL" and "*" not in b.resource_name and b.permission == "ALLOW" and b.host == "*"
        )
        assert not (b.resource_type == "TOPIC" and b.pattern_type == "PREFIXED")
    assert len(shipped) == 70


def test_widening_grant_shows_as_additions(tmp_path: Path, shipped: set[Binding]) -> None:
    contracts_dir = copy_contracts(tmp_path)
    set_roles(contracts_dir, "dla.municipal_waste_monthly", [read_grant("nso")])
    p = plan(_desired(contracts_dir), shipped)
    assert p.to_remove == ()
    topic = "gdx.dla.municipal_waste_monthly.v1"
    assert p.to_add == (
        Binding("User:nso", "GROUP", "PREFIXED", "nso.", "READ"),
        Binding("User:nso", "TOPIC", "LITERAL", topic, "DESCRIBE"),
        Binding("User:nso", "TOPIC", "LITERAL", topic, "READ"),
    )
    text = format_plan(p, load_agencies(contracts_dir))
    assert "ACL ที่จะเพิ่ม / to add: 3" in text and "ACL ที่จะลบ / to remove: 0" in text
    assert "User:nso  (สำนักงานสถิติแห่งชาติ / National Statistical Office)" in text
    assert f"    + ALLOW READ TOPIC {topic}" in text and "    + ALLOW READ GROUP nso.*" in text


def test_removed_grant_shows_as_removals(tmp_path: Path, shipped: set[Binding]) -> None:
    contracts_dir = copy_contracts(tmp_path)
    set_roles(contracts_dir, "pcd.air_quality_hourly", [])
    p = plan(_desired(contracts_dir), shipped)
    assert p.to_add == ()
    assert p.to_remove == (
        Binding("User:gistda", "GROUP", "PREFIXED", "gistda.", "READ"),
        Binding("User:gistda", "TOPIC", "LITERAL", AIR, "DESCRIBE"),
        Binding("User:gistda", "TOPIC", "LITERAL", AIR, "READ"),
    )
    # gistda still writes its own topic: only the grant went
    assert (
        Binding("User:gistda", "TOPIC", "LITERAL", "gdx.gistda.fire_hotspots.v1", "WRITE") not in p.to_remove
    )
    assert "    - ALLOW READ TOPIC gdx.pcd.air_quality_hourly.v1" in format_plan(p)


def test_personal_data_grant_without_explicit_flag_grants_nothing(
    tmp_path: Path, shipped: set[Binding]
) -> None:
    contracts_dir = copy_contracts(tmp_path)
    set_roles(
        contracts_dir,
        "moi.informal_debt_cases",
        [read_grant("dopa", personalData=True), read_grant("nso"), read_grant("dla", personalData=False)],
    )
    desired = _desired(contracts_dir)
    assert _who(desired, "READ", DEBT) == {"gdx-ingest", "dopa"}
    assert _of(desired, "nso") == set() and _of(desired, "dla") == _of(shipped, "dla")
    assert plan(desired, shipped).in_sync


def test_in_sync_plan_text(shipped: set[Binding]) -> None:
    p = plan(shipped, set(shipped))
    assert p.in_sync and p.to_add == () and p.to_remove == ()
    assert format_plan(p) == "ACL ตรงกับสัญญาข้อมูลแล้ว / ACLs match the contracts: nothing to change"


def test_unknown_grantee_is_an_error(tmp_path: Path) -> None:
    contracts_dir = copy_contracts(tmp_path)
    set_roles(contracts_dir, "pcd.air_quality_hourly", [read_grant("nobody")])
    with pytest.raises(AclError, match="granted agency 'nobody' is not in the agencies registry"):
        _desired(contracts_dir)


def test_agency_code_gdx_is_reserved(tmp_path: Path) -> None:
    # `gdx.` groups are the platform's: an agency "gdx" would get READ on the ingestion groups
    contracts_dir = copy_contracts(tmp_path)
    seed = contracts_dir.parent / "dbt_project" / "seeds" / "ref_agencies.csv"
    seed.write_text(seed.read_text(encoding="utf-8") + "gdx,x,x,x,x,x@x,x\n", encoding="utf-8")
    set_roles(contracts_dir, "pcd.air_quality_hourly", [read_grant("gdx")])
    with pytest.raises(AclError, match="agency code 'gdx' is reserved for the platform"):
        _desired(contracts_dir)


def test_owner_missing_from_registry_is_an_error(tmp_path: Path) -> None:
    contracts_dir = copy_contracts(tmp_path)
    seed = contracts_dir.parent / "dbt_project" / "seeds" / "ref_agencies.csv"
    seed.write_text(
        "\n".join(row for row in seed.read_text().splitlines() if not row.startswith("moi,")) + "\n"
    )
    with pytest.raises(
        AclError, match="moi.informal_debt_cases: owner agency 'moi' is not in the agencies registry"
    ):
        _desired(contracts_dir)


def test_managed_scope() -> None:
    principals = managed_principals(["pcd", "moi"])
    assert {"User:pcd", "User:moi", "User:gdx-ingest", "User:gdx-catalog", "User:gdx-admin"} == set(
        principals
    )
    stray = [
        Binding("User:mallory", "TOPIC", "LITERAL", DEBT, "READ"),
        Binding("User:mallory", "TOPIC", "LITERAL", "*", "READ"),
        Binding("User:mallory", "TOPIC", "PREFIXED", "gdx.moi.", "READ"),
        Binding("User:mallory", "TOPIC", "PREFIXED", "g", "READ"),
        Binding("User:mallory", "GROUP", "PREFIXED", "gdx.ingest.", "READ"),
        Binding("User:pcd", "TOPIC", "LITERAL", "orders", "READ"),  # ours, on any resource
        Binding("User:pcd", "TOPIC", "LITERAL", DEBT, "READ", permission="DENY"),
    ]
    others = [
        Binding("User:shop", "TOPIC", "LITERAL", "orders", "READ"),
        Binding("User:shop", "TOPIC", "PREFIXED", "orders.", "WRITE"),
        Binding("User:shop", "GROUP", "PREFIXED", "shop.", "READ"),
        Binding("User:shop", "CLUSTER", "LITERAL", "kafka-cluster", "IDEMPOTENT_WRITE"),
    ]
    assert all(is_managed(b, principals) for b in stray)
    assert not any(is_managed(b, principals) for b in others)


def test_kafka_conversion_round_trip(shipped: set[Binding]) -> None:
    from confluent_kafka.admin import AclBindingFilter, ResourceType

    cluster = next(b for b in shipped if b.resource_type == "CLUSTER")
    assert to_kafka(cluster).restype == ResourceType.BROKER  # librdkafka's name for CLUSTER
    assert isinstance(to_kafka(cluster, as_filter=True), AclBindingFilter)
    for b in shipped:
        assert from_kafka(to_kafka(b)) == b


def test_dataset_of() -> None:
    assert dataset_of(Binding("User:dopa", "TOPIC", "LITERAL", DEBT, "READ")) == "moi.informal_debt_cases"
    assert dataset_of(
        Binding("User:gdx-ingest", "TOPIC", "LITERAL", "gdx.dlq.pcd.air_quality_hourly", "WRITE")
    ) == ("pcd.air_quality_hourly")
    assert dataset_of(Binding("User:dopa", "GROUP", "PREFIXED", "dopa.", "READ")) is None
    assert dataset_of(Binding("User:pcd", "CLUSTER", "LITERAL", "kafka-cluster", "IDEMPOTENT_WRITE")) is None


def test_cli_desired_needs_no_broker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gdx.cli import app

    contracts_dir = copy_contracts(tmp_path)
    set_roles(contracts_dir, "dla.municipal_waste_monthly", [read_grant("nso")])
    monkeypatch.setenv("GDX_CONTRACTS_DIR", str(contracts_dir))
    res = CliRunner().invoke(app, ["acls", "desired"])
    assert res.exit_code == 0, res.output
    assert "User:nso  (สำนักงานสถิติแห่งชาติ / National Statistical Office)" in res.output
    assert "  ALLOW READ TOPIC gdx.dla.municipal_waste_monthly.v1" in res.output
    assert res.output.rstrip().endswith("รวม / total: 73")
