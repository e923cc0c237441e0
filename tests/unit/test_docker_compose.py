"""Docker is not on the CI machines, so check what can be checked: the compose file's shape."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_compose_names_the_services_it_promises() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"kafka", "postgres", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
            "airflow-triggerer"} <= set(services)
    assert services["kafka"]["image"].startswith("apache/kafka:4.")
    assert "KRaft" in (ROOT / "docker-compose.yml").read_text()
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"


def test_compose_kafka_is_secured_like_the_local_broker(tmp_path: Path) -> None:
    """The compose broker runs on the server.properties `kafka-setup` makes with the local broker's
    code: every listener authenticated, deny by default, gdx-admin the only super user."""
    from gdx.security import compose as setup

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert services["kafka-setup"]["command"][:3] == ["python", "-m", "gdx.security.compose"]
    assert services["kafka"]["depends_on"]["kafka-setup"]["condition"] == "service_completed_successfully"
    command = " ".join(services["kafka"]["command"])
    assert "--add-scram" in command and "admin.scram" in command and "server.properties" in command
    assert services["kafka-provision"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert "--command-config" in services["kafka"]["healthcheck"]["test"][1]

    setup.setup(tmp_path)
    text = (tmp_path / "kafka" / "server.properties").read_text()
    props = dict(line.split("=", 1) for line in text.splitlines() if line)
    protocols = dict(p.split(":") for p in props["listener.security.protocol.map"].split(","))
    assert protocols == {"CONTROLLER": "SASL_PLAINTEXT", "SASL_SSL": "SASL_SSL", "HOST": "SASL_SSL"}
    assert "PLAINTEXT://" not in props["listeners"] and "PLAINTEXT://" not in props["advertised.listeners"]
    assert props["advertised.listeners"] == "SASL_SSL://kafka:9092,HOST://localhost:29092"
    assert props["authorizer.class.name"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert props["allow.everyone.if.no.acl.found"] == "false" and props["super.users"] == "User:gdx-admin"
    assert props["listener.name.sasl_ssl.sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert props["listener.name.host.sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    # the broker certificate is valid for the compose host name, and nothing secret is world-readable
    from cryptography import x509

    cert = x509.load_pem_x509_certificate((tmp_path / "tls" / "broker.pem").read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"kafka", "localhost"} <= set(names.get_values_for_type(x509.DNSName))
    for secret in ("kafka/server.properties", "kafka/admin.scram", "kafka/healthcheck.properties",
                   "clients/gdx-admin.properties", "tls/broker.p12", "tls/ca.key"):  # fmt: skip
        assert (tmp_path / secret).stat().st_mode & 0o077 == 0, secret
    admin = (tmp_path / "clients" / "gdx-admin.properties").read_text()
    assert "bootstrap.servers=kafka:9092" in admin and "security.protocol=SASL_SSL" in admin


def test_airflow_services_use_postgres_and_the_mounted_repo() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name in ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"):
        service = compose["services"][name]
        env = service["environment"]
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql")
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert env["GDX_KAFKA_CLIENTS_DIR"] == "/opt/gdx/.gdx/compose/clients"
        assert "KAFKA_SASL_PASSWORD" not in env  # passwords live in the 0600 client files only
        assert service["depends_on"]["kafka-provision"]["condition"] == "service_completed_successfully"
        assert "./:/opt/gdx" in service["volumes"]
        assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/gdx/dags"
    dockerfile = (ROOT / compose["x-airflow"]["build"]["dockerfile"]).read_text()
    assert "requirements.lock" in dockerfile and "apache/airflow:3." in dockerfile
