"""The contracts' ACLs on the real secured broker: who may write and read what (deny by default).

One module-scoped apply on the session broker (`kafka_cluster`), then the authorisation matrix:
every ordered pair of topic-owning agencies, every non-granted reader of the informal-debt topic,
the ingestion service on every dataset and dead-letter topic — each through librdkafka (what
ingestion and `gdx produce --client confluent` use) and the produce pairs through kafka-python too
(what `gdx produce` uses by default), asserting the broker's exact error.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, Producer
from kafka.errors import TopicAuthorizationFailedError
from typer.testing import CliRunner

from gdx.agencies import load_agencies
from gdx.contracts.model import Contract, load_all
from gdx.security import acls
from gdx.settings import Settings
from tests.contract_copies import CONTRACTS, copy_contracts, read_grant, set_roles

pytestmark = pytest.mark.integration

DEBT = "moi.informal_debt_cases"
RUN = uuid.uuid4().hex[:8]
TIMEOUT_S = 20.0
TOPIC_DENIED = KafkaError.TOPIC_AUTHORIZATION_FAILED
GROUP_DENIED = KafkaError.GROUP_AUTHORIZATION_FAILED


@pytest.fixture(scope="module")
def contracts() -> dict[str, Contract]:
    return {cid: c for cid, c in load_all(CONTRACTS).items() if c.topic}


@pytest.fixture(scope="module")
def owners(contracts: dict[str, Contract]) -> dict[str, Contract]:
    """Each topic-owning agency → its (one, in the shipped contracts) dataset contract."""
    by_agency = {c.agency: c for c in contracts.values()}
    assert len(by_agency) == len(contracts) == 6
    return by_agency


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("acl-lake")


@pytest.fixture(scope="module")
def settings(lake: Path) -> Settings:
    return replace(Settings.from_env(), contracts_dir=CONTRACTS, lake_root=str(lake))


@pytest.fixture(scope="module")
def audit(settings: Settings) -> Any:
    from gdx.audit import AuditLog

    return AuditLog.from_settings(settings)


@pytest.fixture(scope="module")
def admin(kafka_cluster: Any) -> Any:
    return acls.admin_client(kafka_cluster.admin)


STRAY = acls.Binding("User:mallory", "TOPIC", "LITERAL", "gdx.moi.informal_debt_cases.v1", "READ")
FOREIGN = acls.Binding("User:shop", "TOPIC", "LITERAL", f"orders-{RUN}", "READ")


@pytest.fixture(scope="module")
def applied(kafka_cluster: Any, settings: Settings, audit: Any, admin: Any, owners: dict) -> Iterator[tuple]:
    """A broker with none of the managed ACLs plus one stray grant and one foreign binding, then
    `sync` from the shipped contracts; the owners then create their own topics. Afterwards the
    session's other grants (test contracts on topics of their own) are put back."""
    principals = acls.managed_principals(load_agencies(CONTRACTS))
    leftover = acls.current_bindings(admin, principals)
    acls.apply(admin, acls.Plan(to_add=(STRAY, FOREIGN), to_remove=tuple(sorted(leftover))))
    result = acls.sync(settings, connection=kafka_cluster.admin, audit=audit)
    for agency, contract in owners.items():
        _create_topic(kafka_cluster.connection(agency), contract.topic)
    yield result
    restore = leftover - acls.broker_bindings(admin)
    acls.apply(admin, acls.Plan(to_add=tuple(sorted(restore)), to_remove=(FOREIGN,)))


def _create_topic(connection: Any, topic: str) -> None:
    from kafka.admin import KafkaAdminClient

    from gdx.producer.topics import ensure_topic

    client = KafkaAdminClient(**connection.kafka_python(), client_id="gdx-acl-test")
    try:
        ensure_topic(client, topic)
    finally:
        client.close()


def _produce(connection: Any, topics: list[str], value: bytes) -> dict[str, KafkaError | int]:
    """One idempotent librdkafka produce per topic: topic → delivery error, or the offset."""
    outcome: dict[str, KafkaError | int] = {}

    def on_delivery(err: KafkaError | None, msg: Any) -> None:
        outcome[msg.topic()] = err if err is not None else msg.offset()

    producer = Producer(
        {**connection.librdkafka(), "enable.idempotence": True, "acks": "all", "linger.ms": 5}
    )
    for topic in topics:
        producer.produce(topic, value, on_delivery=on_delivery)
    assert producer.flush(TIMEOUT_S) == 0
    return outcome


def _first_event(connection: Any, topics: str | list[str], group: str) -> tuple[str, Any]:
    """("error", KafkaError) or ("values", {topic: [values]}): a group consumer (librdkafka, as
    ingestion and agencies consume) reading `topics` from the beginning until every one of them
    gave records and the next poll is empty."""
    topics = [topics] if isinstance(topics, str) else topics
    consumer = Consumer(
        {
            **connection.librdkafka(),
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    try:
        consumer.subscribe(topics)
        values: dict[str, list[bytes]] = {}
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                if len(values) == len(topics):
                    break
                continue
            if msg.error() is not None:
                return "error", msg.error()
            values.setdefault(msg.topic(), []).append(msg.value())
        return "values", values
    finally:
        consumer.close()


def _metadata_error(connection: Any, topic: str) -> KafkaError | None:
    """The broker's error for `topic` in a metadata request (None: the principal may see it).
    No consumer group is involved, so only the topic's own ACLs decide."""
    from confluent_kafka.admin import AdminClient

    client = AdminClient({**connection.librdkafka(), "client.id": "gdx-acl-test"})
    return client.list_topics(topic, timeout=TIMEOUT_S).topics[topic].error


def _fetch_without_group(connection: Any, topic: str) -> Exception | list[bytes]:
    """Fetch `topic`'s partitions directly (kafka-python, no consumer group), for a principal that
    may see the topic: only its READ ACL decides. The error raised, or the values read."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(**connection.kafka_python(), group_id=None, enable_auto_commit=False)
    try:
        consumer.assign([TopicPartition(topic, p) for p in range(3)])
        consumer.seek_to_beginning()
        values: list[bytes] = []
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                batch = consumer.poll(timeout_ms=500)
            except Exception as exc:  # the broker's refusal, as the client raises it
                return exc
            values += [r.value for records in batch.values() for r in records]
            if values and not batch:
                break
        return values
    finally:
        consumer.close()


def test_first_apply_adds_every_binding_removes_the_stray_and_audits_each(
    applied: tuple, audit: Any, admin: Any
) -> None:
    p, result = applied
    desired = acls.desired_bindings(load_all(CONTRACTS), load_agencies(CONTRACTS))
    assert set(p.to_add) == desired and len(desired) == 70
    assert p.to_remove == (STRAY,)  # the foreign team's binding is not ours to judge
    assert set(result.added) == desired and result.removed == [STRAY]
    on_broker = acls.broker_bindings(admin)
    assert desired <= on_broker and STRAY not in on_broker and FOREIGN in on_broker

    entries = [e for e in audit.entries() if e.action in ("acl.add", "acl.remove")]
    added = [e for e in entries if e.action == "acl.add"]
    removed = [e for e in entries if e.action == "acl.remove"]
    # the setup's own apply wrote nothing (no audit passed); the sync one entry per change
    assert len(added) == 70 and len(removed) == 1
    assert all(e.principal == "gdx-admin" and e.outcome == "ok" for e in entries)
    assert {acls.Binding(**e.detail) for e in added} == desired
    assert acls.Binding(**removed[0].detail) == STRAY and removed[0].dataset == DEBT
    dopa_read = acls.Binding("User:dopa", "TOPIC", "LITERAL", "gdx.moi.informal_debt_cases.v1", "READ")
    assert [e.dataset for e in added if acls.Binding(**e.detail) == dopa_read] == [DEBT]
    assert audit.verify(ledger=False).ok


def test_second_apply_is_a_no_op(applied: tuple, kafka_cluster: Any, settings: Settings, audit: Any) -> None:
    before = len(list(audit.entries()))
    p, result = acls.sync(settings, connection=kafka_cluster.admin, audit=audit)
    assert p.in_sync and result.added == [] and result.removed == []
    assert len(list(audit.entries())) == before


def test_every_agency_is_denied_every_other_agencys_topic(
    applied: tuple, kafka_cluster: Any, owners: dict[str, Contract]
) -> None:
    from kafka import KafkaProducer

    pairs = list(itertools.permutations(sorted(owners), 2))
    assert len(pairs) == 30
    denied_rd: set[tuple[str, str]] = set()
    denied_kp: set[tuple[str, str]] = set()
    for writer in sorted(owners):
        conn = kafka_cluster.connection(writer)
        others = {owners[b].topic: b for b in owners if b != writer}
        outcome = _produce(conn, [*others, owners[writer].topic], f"{writer}-{RUN}".encode())
        assert isinstance(outcome[owners[writer].topic], int), (writer, outcome[owners[writer].topic])
        for topic, victim in others.items():
            err = outcome[topic]
            assert isinstance(err, KafkaError), (writer, victim, err)
            assert (
                err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
                and err.name() == "TOPIC_AUTHORIZATION_FAILED"
            )
            denied_rd.add((writer, victim))

        producer = KafkaProducer(
            **conn.kafka_python(), acks="all", enable_idempotence=True, max_block_ms=10_000
        )
        try:
            producer.send(owners[writer].topic, f"{writer}-kp-{RUN}".encode()).get(TIMEOUT_S)
            for topic, victim in others.items():
                with pytest.raises(TopicAuthorizationFailedError) as caught:
                    producer.send(topic, b"forged").get(TIMEOUT_S)
                assert caught.value.errno == 29 and topic in str(caught.value)
                denied_kp.add((writer, victim))
        finally:
            producer.close()
    assert denied_rd == denied_kp == set(pairs)  # 100% of the ordered pairs, both clients


def test_owner_creates_only_its_own_topic(applied: tuple, kafka_cluster: Any, owners: dict) -> None:
    for agency in ("pcd", "moi"):
        with pytest.raises(TopicAuthorizationFailedError):
            _create_topic(kafka_cluster.connection(agency), f"gdx.{agency}.unlisted_{RUN}.v1")
        other = next(c for a, c in owners.items() if a != agency)
        with pytest.raises(TopicAuthorizationFailedError):
            _create_topic(kafka_cluster.connection(agency), other.dlq_topic)


def test_only_granted_agencies_read_the_informal_debt_topic(
    applied: tuple, kafka_cluster: Any, contracts: dict[str, Contract]
) -> None:
    debt = contracts[DEBT]
    _produce(kafka_cluster.connection("moi"), [debt.topic], f"debt-{RUN}".encode())
    agencies = load_agencies(CONTRACTS)
    refused = [a for a in agencies if a != "dopa"]
    readers = {r for c in contracts.values() for r in c.readers}
    desired = acls.desired_bindings(contracts, agencies)
    describers = {b.user for b in desired if b.resource_name == debt.topic and b.operation == "DESCRIBE"}
    assert describers == {"moi", "dopa", "gdx-ingest", "gdx-catalog"}
    assert readers == {"dopa", "gistda"}
    assert "moi" in refused and "nso" in refused  # the owner itself does not consume its topic
    for agency in [*refused, "gdx-catalog"]:
        conn = kafka_cluster.connection(agency)
        if agency in describers:  # the owner and the catalog see the topic but may not fetch from it
            assert _metadata_error(conn, debt.topic) is None
            got = _fetch_without_group(conn, debt.topic)
            assert isinstance(got, TopicAuthorizationFailedError) and debt.topic in str(got), got
        else:
            err = _metadata_error(conn, debt.topic)
            assert err is not None and err.code() == TOPIC_DENIED, (agency, err)
        # consuming in a group named like its own: refused on the topic where the agency may use
        # its groups (it is granted some other dataset), else already on the group
        expected = TOPIC_DENIED if agency in readers else GROUP_DENIED
        kind, err = _first_event(conn, debt.topic, f"{agency}.t-{RUN}")
        assert kind == "error" and err.code() == expected, (agency, err)
    kind, got = _first_event(kafka_cluster.connection("dopa"), debt.topic, f"dopa.t-{RUN}")
    assert kind == "values" and f"debt-{RUN}".encode() in got[debt.topic]
    # dopa's groups are its own: the ingestion service's groups are not
    kind, got = _first_event(kafka_cluster.connection("dopa"), debt.topic, f"gdx.ingest.t-{RUN}")
    assert kind == "error" and got.code() == KafkaError.GROUP_AUTHORIZATION_FAILED


def test_ingestion_reads_every_dataset_topic_and_writes_every_dlq(
    applied: tuple, kafka_cluster: Any, contracts: dict[str, Contract]
) -> None:
    ingest = kafka_cluster.connection("gdx-ingest")
    marks = {}
    for contract in contracts.values():
        marks[contract.topic] = f"{contract.id}-{RUN}".encode()
        delivered = _produce(
            kafka_cluster.connection(contract.agency), [contract.topic], marks[contract.topic]
        )
        assert isinstance(delivered[contract.topic], int), delivered
    kind, got = _first_event(ingest, list(marks), f"gdx.ingest.t-{RUN}")
    assert kind == "values", got
    for topic, mark in marks.items():
        assert mark in got.get(topic, []), topic
    for contract in contracts.values():
        _create_topic(ingest, contract.dlq_topic)
    outcome = _produce(ingest, [c.dlq_topic for c in contracts.values()], f"dead-{RUN}".encode())
    assert all(isinstance(v, int) for v in outcome.values()), outcome
    # ingestion cannot forge an agency's data
    forged = _produce(ingest, [c.topic for c in contracts.values()], b"forged")
    assert {e.code() for e in forged.values()} == {KafkaError.TOPIC_AUTHORIZATION_FAILED}


def test_agencies_cannot_write_or_read_dead_letters(
    applied: tuple, kafka_cluster: Any, owners: dict[str, Contract]
) -> None:
    for agency, contract in owners.items():
        conn = kafka_cluster.connection(agency)
        outcome = _produce(conn, [c.dlq_topic for c in owners.values()], b"fake dead letter")
        assert {e.code() for e in outcome.values()} == {KafkaError.TOPIC_AUTHORIZATION_FAILED}, agency
        err = _metadata_error(conn, contract.dlq_topic)
        assert err is not None and err.code() == TOPIC_DENIED, (agency, err)


def test_plan_shows_a_widening_contract_change_before_apply(
    applied: tuple,
    kafka_cluster: Any,
    admin: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    lake: Path,
) -> None:
    from gdx.cli import app

    copy = copy_contracts(tmp_path)
    set_roles(copy, "dla.municipal_waste_monthly", [read_grant("nso")])
    topic = "gdx.dla.municipal_waste_monthly.v1"
    widened = acls.desired_bindings(load_all(copy), load_agencies(copy))
    current = acls.current_bindings(admin, acls.managed_principals(load_agencies(copy)))
    p = acls.plan(widened, current)
    assert p.to_remove == ()
    assert p.to_add == (
        acls.Binding("User:nso", "GROUP", "PREFIXED", "nso.", "READ"),
        acls.Binding("User:nso", "TOPIC", "LITERAL", topic, "DESCRIBE"),
        acls.Binding("User:nso", "TOPIC", "LITERAL", topic, "READ"),
    )
    # the plan changed nothing: nso still cannot read
    assert _metadata_error(kafka_cluster.connection("nso"), topic).code() == TOPIC_DENIED

    # the same through the CLI, as gdx-admin from the provisioned client files
    if kafka_cluster.broker is not None:  # an external cluster: the environment already says how
        for name in ("KAFKA_BOOTSTRAP_SERVERS", "GDX_KAFKA_CLIENT_CONFIG"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("GDX_KAFKA_CLIENTS_DIR", str(kafka_cluster.broker.clients_dir))
    monkeypatch.setenv("GDX_LAKE_ROOT", str(lake))
    runner = CliRunner()
    monkeypatch.setenv("GDX_CONTRACTS_DIR", str(CONTRACTS))
    res = runner.invoke(app, ["acls", "plan"])
    assert res.exit_code == 0, res.output
    assert "ACL ตรงกับสัญญาข้อมูลแล้ว / ACLs match the contracts" in res.output

    monkeypatch.setenv("GDX_CONTRACTS_DIR", str(copy))
    res = runner.invoke(app, ["acls", "plan"])
    assert res.exit_code == 2, res.output
    assert "ACL ที่จะเพิ่ม / to add: 3" in res.output and f"    + ALLOW READ TOPIC {topic}" in res.output

    # apply the widening, then take it back: both through the CLI, both audited
    res = runner.invoke(app, ["acls", "apply"])
    assert res.exit_code == 0 and "ใช้แล้ว / applied: +3 -0" in res.output, res.output
    mark = f"waste-{RUN}".encode()
    _produce(kafka_cluster.connection("dla"), [topic], mark)
    kind, got = _first_event(kafka_cluster.connection("nso"), topic, f"nso.t2-{RUN}")
    assert kind == "values" and mark in got[topic]
    assert runner.invoke(app, ["acls", "plan"]).exit_code == 0

    monkeypatch.setenv("GDX_CONTRACTS_DIR", str(CONTRACTS))
    res = runner.invoke(app, ["acls", "apply"])
    assert res.exit_code == 0 and "ใช้แล้ว / applied: +0 -3" in res.output, res.output
    assert _metadata_error(kafka_cluster.connection("nso"), topic).code() == TOPIC_DENIED

    from gdx.audit import AuditLog

    entries = [
        e for e in AuditLog.from_settings(Settings.from_env()).entries() if e.action.startswith("acl.")
    ]
    nso = [
        (e.action, e.detail["operation"], e.detail["resource_type"])
        for e in entries
        if e.detail["principal"] == "User:nso"
    ]
    assert sorted(nso) == sorted(
        [
            (a, op, rt)
            for a in ("acl.add", "acl.remove")
            for op, rt in (("READ", "GROUP"), ("DESCRIBE", "TOPIC"), ("READ", "TOPIC"))
        ]
    )


def test_a_grant_that_cannot_be_audited_is_taken_back(
    applied: tuple, kafka_cluster: Any, admin: Any, tmp_path: Path
) -> None:
    from gdx.audit import AuditLog

    copy = copy_contracts(tmp_path)
    set_roles(copy, "dla.municipal_waste_monthly", [read_grant("nso")])
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the lake should be\n")
    broken = replace(Settings.from_env(), contracts_dir=copy, lake_root=str(blocker / "lake"))
    with pytest.raises(
        acls.AclError, match="audit log cannot be written.*3 grant\\(s\\) not yet recorded were taken back"
    ):
        acls.sync(broken, connection=kafka_cluster.admin, audit=AuditLog.from_settings(broken))
    topic = "gdx.dla.municipal_waste_monthly.v1"
    assert not {b for b in acls.broker_bindings(admin) if b.principal == "User:nso"}
    assert _metadata_error(kafka_cluster.connection("nso"), topic).code() == TOPIC_DENIED
    # and the shipped contracts are still exactly what the broker holds
    p, _ = acls.sync(replace(Settings.from_env(), contracts_dir=CONTRACTS), connection=kafka_cluster.admin)
    assert p.in_sync
