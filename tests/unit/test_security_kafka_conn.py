"""KafkaConnection: one identity, three client forms, one file format, and where it comes from."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from gdx.security.kafka_conn import KafkaConfigError, KafkaConnection, connection_for
from gdx.settings import Settings

SECURE = KafkaConnection(
    bootstrap="127.0.0.1:9093",
    security_protocol="SASL_SSL",
    sasl_mechanism="SCRAM-SHA-512",
    username="pcd",
    password="s3cret-Pass",
    ca_file="/x/ca.pem",
    principal="pcd",
)
KAFKA_ENV = ("KAFKA_BOOTSTRAP_SERVERS", "KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_MECHANISM", "KAFKA_SASL_USERNAME",
             "KAFKA_SASL_PASSWORD", "KAFKA_SSL_CA_LOCATION", "GDX_KAFKA_CLIENT_CONFIG", "GDX_KAFKA_CLIENTS_DIR")  # fmt: skip


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in KAFKA_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GDX_STATE_DIR", str(tmp_path / "state"))
    return monkeypatch


def test_client_forms() -> None:
    assert SECURE.kafka_python() == {
        "bootstrap_servers": "127.0.0.1:9093",
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "pcd",
        "sasl_plain_password": "s3cret-Pass",
        "ssl_cafile": "/x/ca.pem",
    }
    assert SECURE.librdkafka() == {
        "bootstrap.servers": "127.0.0.1:9093",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "pcd",
        "sasl.password": "s3cret-Pass",
        "ssl.ca.location": "/x/ca.pem",
    }
    java = SECURE.java()
    assert java["sasl.jaas.config"] == (
        'org.apache.kafka.common.security.scram.ScramLoginModule required username="pcd" password="s3cret-Pass";'
    )
    assert java["ssl.truststore.type"] == "PEM" and java["ssl.truststore.location"] == "/x/ca.pem"
    plain = KafkaConnection.plain("h:1")
    assert plain.kafka_python() == {"bootstrap_servers": "h:1", "security_protocol": "PLAINTEXT"}
    assert plain.librdkafka() == {"bootstrap.servers": "h:1", "security.protocol": "PLAINTEXT"}


def test_password_is_never_in_repr() -> None:
    assert "s3cret-Pass" not in repr(SECURE) and "s3cret-Pass" not in str(SECURE)
    settings = Settings(kafka_sasl_password="s3cret-Pass", pii_key="k1:pii-secret")
    assert "s3cret-Pass" not in repr(settings) and "pii-secret" not in repr(settings)


def test_file_round_trip_is_private_and_in_librdkafka_form(tmp_path: Path) -> None:
    path = SECURE.write(tmp_path / "pcd.properties")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = path.read_text().splitlines()
    assert "bootstrap.servers=127.0.0.1:9093" in lines and "sasl.password=s3cret-Pass" in lines
    assert KafkaConnection.load(path) == SECURE
    java = SECURE.write_java(tmp_path / "pcd.java.properties")
    assert stat.S_IMODE(java.stat().st_mode) == 0o600
    assert "sasl.jaas.config=" in java.read_text()


def test_load_refuses_what_it_would_not_pass_on(tmp_path: Path) -> None:
    path = tmp_path / "c.properties"
    path.write_text("bootstrap.servers=h:1\nsecurity.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\n"
                    "sasl.username=u\nsasl.password=p\nssl.endpoint.identification.algorithm=none\n")  # fmt: skip
    with pytest.raises(KafkaConfigError, match="ssl.endpoint.identification.algorithm"):
        KafkaConnection.load(path)
    path.write_text("bootstrap.servers=h:1\nsecurity.protocol=SASL_SSL\nsasl.username=u\n")
    with pytest.raises(KafkaConfigError, match="sasl.mechanism"):
        KafkaConnection.load(path)
    with pytest.raises(KafkaConfigError, match="cannot read"):
        KafkaConnection.load(tmp_path / "missing.properties")


def test_nothing_configured_names_the_command_to_run(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(KafkaConfigError, match="gdx kafka up"):
        connection_for("pcd")


def test_env_for_an_existing_secured_cluster(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka.example:9094")
    clean_env.setenv("KAFKA_SECURITY_PROTOCOL", "sasl_ssl")
    clean_env.setenv("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    clean_env.setenv("KAFKA_SASL_USERNAME", "svc")
    clean_env.setenv("KAFKA_SASL_PASSWORD", "pw")
    clean_env.setenv("KAFKA_SSL_CA_LOCATION", "/etc/ca.pem")
    conn = connection_for("pcd")
    assert (conn.bootstrap, conn.security_protocol, conn.username, conn.password, conn.ca_file) == (
        "kafka.example:9094", "SASL_SSL", "svc", "pw", "/etc/ca.pem",
    )  # fmt: skip
    clean_env.delenv("KAFKA_SASL_PASSWORD")
    with pytest.raises(KafkaConfigError, match="sasl.password"):
        connection_for("pcd")


def test_client_files_win_over_plain_env_and_per_principal_dir_wins_over_one_file(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    one = SECURE.write(tmp_path / "one.properties")
    clean_env.setenv("KAFKA_BOOTSTRAP_SERVERS", "other:1")
    clean_env.setenv("GDX_KAFKA_CLIENT_CONFIG", str(one))
    assert connection_for("moi").username == "pcd"  # one identity for everyone
    folder = tmp_path / "clients"
    folder.mkdir()
    (folder / "moi.properties").write_text("security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\n"
                                           "sasl.username=moi\nsasl.password=m\n")  # fmt: skip
    clean_env.setenv("GDX_KAFKA_CLIENTS_DIR", str(folder))
    moi = connection_for("moi")
    assert (moi.username, moi.principal, moi.bootstrap) == ("moi", "moi", "other:1")  # bootstrap from env
    with pytest.raises(KafkaConfigError, match="no client config for 'pcd'"):
        connection_for("pcd")


def test_local_broker_files(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clients = tmp_path / "state" / "kafka" / "clients"
    SECURE.write(clients / "pcd.properties")
    assert connection_for("pcd") == SECURE
    with pytest.raises(KafkaConfigError, match="gdx kafka up"):  # no broker runs: start it first
        connection_for("moi")


def test_activity_watcher_logs_in_as_the_ingestion_principal(monkeypatch: pytest.MonkeyPatch) -> None:
    """The dispatcher's probe and KafkaActivityTrigger connect with gdx-ingest's librdkafka
    settings (no Airflow connection, no password in the trigger's serialized kwargs)."""
    import confluent_kafka.admin

    from gdx.orchestration import offsets_probe

    seen: list[dict] = []
    monkeypatch.setattr(confluent_kafka.admin, "AdminClient", lambda config: seen.append(config))
    ingest = KafkaConnection("127.0.0.1:9093", "SASL_SSL", "SCRAM-SHA-512", "gdx-ingest", "pw", "/x/ca.pem")
    offsets_probe.admin_client(ingest)
    assert {k: v for k, v in seen[0].items() if k not in ("client.id", "logger")} == ingest.librdkafka()
    assert seen[0]["sasl.username"] == "gdx-ingest"
