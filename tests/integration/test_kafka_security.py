"""The broker is secure by default: who cannot connect, who can, and how their credentials live.

Against the session's real broker (SASL_SSL + SCRAM-SHA-512, StandardAuthorizer, deny by default),
as `gdx kafka up` starts it.
"""

from __future__ import annotations

import logging
import stat
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from gdx.kafka_local import answers, classpath, throwaway_broker
from gdx.security.kafka_conn import KafkaConnection
from gdx.security.principals import ADMIN, all_principals
from gdx.security.tls import ensure_broker_tls

pytestmark = pytest.mark.integration


@pytest.fixture
def local(kafka_cluster):
    if kafka_cluster.broker is None:
        pytest.skip("an external cluster: its credentials are not ours to inspect or rotate")
    return kafka_cluster


def _librdkafka_errors(conn: KafkaConnection, timeout_s: float = 6.0) -> tuple[bool, list[str]]:
    """(whether a metadata request succeeded, the client's error events), with confluent-kafka."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    errors: list[str] = []
    admin = AdminClient({**conn.librdkafka(), "error_cb": lambda e: errors.append(str(e)), "log_level": 0})
    try:
        admin.list_topics(timeout=timeout_s)
        return True, errors
    except KafkaException as exc:
        admin.poll(1)  # error callbacks are served by poll()
        errors.append(str(exc))
        return False, errors


def test_authenticated_principals_connect_over_sasl_ssl(local) -> None:
    for principal in ("gdx-admin", "gdx-ingest", "gdx-catalog", "pcd", "moi", "dopa"):
        conn = local.connection(principal)
        assert conn.security_protocol == "SASL_SSL" and conn.sasl_mechanism == "SCRAM-SHA-512"
        assert conn.username == principal and conn.ca_file and Path(conn.ca_file).is_file()
        assert answers(conn), principal  # kafka-python
        ok, errors = _librdkafka_errors(conn)
        assert ok, (principal, errors)  # librdkafka


def test_plaintext_client_on_the_sasl_ssl_port_is_refused(local) -> None:
    assert not answers(local.plain, timeout_s=3)
    ok, _ = _librdkafka_errors(local.plain, timeout_s=4)
    assert not ok


def test_tls_without_sasl_is_refused(local) -> None:
    # The handshake succeeds (right CA), but the listener requires a SASL login after it.
    tls_only = KafkaConnection(local.bootstrap, security_protocol="SSL", ca_file=local.admin.ca_file)
    assert not answers(tls_only, timeout_s=3)
    ok, _ = _librdkafka_errors(tls_only, timeout_s=4)
    assert not ok


def test_wrong_password_and_unknown_user_are_refused(local) -> None:
    good = local.connection("pcd")
    for bad in (replace(good, password=good.password + "x"), replace(good, username="not-an-agency")):
        assert not answers(bad, timeout_s=3)
        ok, errors = _librdkafka_errors(bad)
        assert not ok
        assert any("Authentication failed" in e or "SASL authentication error" in e for e in errors), errors


def test_a_broker_certificate_from_another_ca_is_not_trusted(local, tmp_path: Path) -> None:
    other_ca = ensure_broker_tls(tmp_path / "other").ca_cert
    spoofed_trust = replace(local.connection("pcd"), ca_file=str(other_ca))
    assert not answers(spoofed_trust, timeout_s=3)
    ok, errors = _librdkafka_errors(spoofed_trust)
    assert not ok and any("certificate verify failed" in e for e in errors), errors


def test_an_agency_without_acls_is_denied_a_topic(local, unique_name: str) -> None:
    # Deny by default (allow.everyone.if.no.acl.found=false): a topic that no contract grants.
    from confluent_kafka import KafkaError, KafkaException, Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient(local.admin.librdkafka())
    admin.create_topics([NewTopic(unique_name, 1, 1)])[unique_name].result(30)
    refused = AdminClient(local.connection("pcd").librdkafka())
    with pytest.raises(KafkaException) as created:
        refused.create_topics([NewTopic(f"{unique_name}-pcd", 1, 1)])[f"{unique_name}-pcd"].result(30)
    assert created.value.args[0].code() in (
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
        KafkaError.CLUSTER_AUTHORIZATION_FAILED,
    )
    errors: list = []
    producer = Producer({**local.connection("pcd").librdkafka(), "message.timeout.ms": 5000})
    producer.produce(unique_name, b"denied", on_delivery=lambda err, msg: errors.append(err))
    producer.flush(15)
    assert errors and errors[0] is not None
    assert errors[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, errors


def test_client_files_are_private_and_read_by_both_clients(local) -> None:
    from confluent_kafka.admin import AdminClient

    clients = local.broker.clients_dir
    assert stat.S_IMODE(clients.stat().st_mode) == 0o700
    principals = all_principals()
    for principal in principals:
        for path in (clients / f"{principal}.properties", clients / f"{principal}.java.properties"):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    path = clients / "pcd.properties"
    # librdkafka's own properties form: handed to confluent-kafka as parsed, no code of ours.
    props = dict(
        line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#")
    )
    assert props["security.protocol"] == "SASL_SSL" and props["sasl.username"] == "pcd"
    AdminClient(props).list_topics(timeout=10)
    # kafka-python through KafkaConnection.load
    from kafka import KafkaAdminClient

    kp = KafkaAdminClient(**KafkaConnection.load(path).kafka_python(), client_id="t-load")
    try:
        kp.list_topics()
    finally:
        kp.close()


def test_java_tools_read_the_java_form_and_see_scram_credentials(local) -> None:
    """Kafka's own kafka-configs (ConfigCommand) with `--command-config <admin>.java.properties`."""
    clients = local.broker.clients_dir
    done = subprocess.run(
        ["java", "-cp", classpath(), "kafka.admin.ConfigCommand", "--bootstrap-server", local.bootstrap,
         "--command-config", str(clients / f"{ADMIN}.java.properties"),
         "--describe", "--entity-type", "users", "--entity-name", "pcd"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "SCRAM-SHA-512" in done.stdout and "pcd" in done.stdout


def test_provision_is_idempotent_and_rotation_touches_one_principal(local) -> None:
    broker = local.broker
    files = {p: (broker.clients_dir / f"{p}.properties").read_bytes() for p in all_principals()}
    again = broker.provision()
    assert again.created == [] and again.restored == []
    assert sorted(again.kept) == sorted(files)
    assert {p: (broker.clients_dir / f"{p}.properties").read_bytes() for p in files} == files

    old = local.connection("dopa")
    new = broker.provisioner().rotate("dopa")
    assert new.password != old.password
    assert local.connection("dopa").password == new.password  # the file has the new one
    assert answers(new)
    assert not answers(old, timeout_s=3)  # the old password no longer logs in
    for other in ("pcd", "moi", "gdx-ingest", ADMIN):
        assert (broker.clients_dir / f"{other}.properties").read_bytes() == files[other]
        assert answers(local.connection(other)), other


def test_reprs_never_show_a_password(local) -> None:
    from gdx.settings import Settings

    conn = local.connection("pcd")
    assert conn.password and conn.password not in repr(conn) and conn.password not in str(conn)
    settings = replace(
        Settings.from_env(), kafka_sasl_password=conn.password, pii_key="k1:very-secret-pii-key"
    )
    assert conn.password not in repr(settings)
    assert "very-secret-pii-key" not in repr(settings)


@pytest.mark.slow
def test_insecure_plaintext_broker_is_opt_in_and_loud(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="gdx.kafka_local"):
        with throwaway_broker(tmp_path / "plain", insecure_plaintext=True) as broker:
            conn = broker.connection("pcd")
            assert conn.security_protocol == "PLAINTEXT" and conn.password is None
            assert answers(KafkaConnection.plain(broker.bootstrap))
            loaded = KafkaConnection.load(broker.clients_dir / "pcd.properties")
            assert loaded.security_protocol == "PLAINTEXT"
    assert any("INSECURE" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)
