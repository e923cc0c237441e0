"""Docker is not on the CI machines, so check what can be checked: the compose file's shape and
wiring, and the broker configuration `kafka-setup` generates with the local broker's code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
KAFKA_NODES = ("kafka-1", "kafka-2", "kafka-3")
AIRFLOW_SERVICES = (
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
)


def _compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_names_the_services_it_promises() -> None:
    services = _compose()["services"]
    assert {*KAFKA_NODES, "postgres", "redis", "s3", "s3-init", "airflow-init", *AIRFLOW_SERVICES} <= set(
        services
    )
    assert "kafka" not in services  # one broker is not a cluster
    assert "KRaft" in (ROOT / "docker-compose.yml").read_text()
    for node in KAFKA_NODES:
        kafka = services[node]
        assert kafka["image"].startswith("apache/kafka:4.")
        env = kafka["environment"]
        assert env["NODE"] == node and env["KAFKA_NODE_ID"] == node.rsplit("-", 1)[1]
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
        assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093"
        assert (env["KAFKA_DEFAULT_REPLICATION_FACTOR"], env["KAFKA_MIN_INSYNC_REPLICAS"]) == ("3", "2")
        assert f"{node}-data:/var/lib/kafka/data" in kafka["volumes"]  # each node its own log dirs
    host_ports = [services[n]["ports"][0] for n in KAFKA_NODES]
    assert host_ports == ["29092:29092", "29093:29093", "29094:29094"]


def test_compose_kafka_is_secured_like_the_local_broker(tmp_path: Path) -> None:
    """Each node runs on the server.properties `kafka-setup` makes with the local broker's code:
    every listener authenticated, deny by default, gdx-admin the only super user, three voters,
    replication factor 3 and min.insync.replicas 2 (any one node may be down)."""
    from gdx.security import compose as setup

    services = _compose()["services"]
    assert services["kafka-setup"]["command"][:3] == ["python", "-m", "gdx.security.compose"]
    for node in KAFKA_NODES:
        assert services[node]["depends_on"]["kafka-setup"]["condition"] == "service_completed_successfully"
        command = " ".join(services[node]["command"])
        assert (
            "--add-scram" in command and "admin.scram" in command and "$${NODE}/server.properties" in command
        )
        assert "--command-config" in services[node]["healthcheck"]["test"][1]
        assert services["kafka-provision"]["depends_on"][node]["condition"] == "service_healthy"

    setup.setup(tmp_path)
    seen_ids = set()
    for port, node in enumerate(KAFKA_NODES, start=29092):
        text = (tmp_path / "kafka" / node / "server.properties").read_text()
        props = dict(line.split("=", 1) for line in text.splitlines() if line)
        seen_ids.add(props["node.id"])
        protocols = dict(p.split(":") for p in props["listener.security.protocol.map"].split(","))
        assert protocols == {"CONTROLLER": "SASL_PLAINTEXT", "SASL_SSL": "SASL_SSL", "HOST": "SASL_SSL"}
        assert (
            "PLAINTEXT://" not in props["listeners"] and "PLAINTEXT://" not in props["advertised.listeners"]
        )
        assert props["advertised.listeners"] == f"SASL_SSL://{node}:9092,HOST://localhost:{port}"
        assert f"HOST://0.0.0.0:{port}" in props["listeners"]
        assert props["controller.quorum.voters"] == "1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093"
        assert props["default.replication.factor"] == "3" and props["min.insync.replicas"] == "2"
        assert (
            props["offsets.topic.replication.factor"] == "3" and props["transaction.state.log.min.isr"] == "2"
        )
        assert props["authorizer.class.name"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
        assert props["allow.everyone.if.no.acl.found"] == "false" and props["super.users"] == "User:gdx-admin"
        assert props["listener.name.sasl_ssl.sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
        assert props["listener.name.host.sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
        assert (tmp_path / "kafka" / node / "server.properties").stat().st_mode & 0o077 == 0
    assert seen_ids == {"1", "2", "3"}
    # the broker certificate is valid for every node's host name, and nothing secret is world-readable
    from cryptography import x509

    cert = x509.load_pem_x509_certificate((tmp_path / "tls" / "broker.pem").read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {*KAFKA_NODES, "localhost"} <= set(names.get_values_for_type(x509.DNSName))
    for secret in ("kafka/admin.scram", "kafka/healthcheck.properties",
                   "clients/gdx-admin.properties", "tls/broker.p12", "tls/ca.key"):  # fmt: skip
        assert (tmp_path / secret).stat().st_mode & 0o077 == 0, secret
    admin = (tmp_path / "clients" / "gdx-admin.properties").read_text()
    assert (
        "bootstrap.servers=kafka-1:9092,kafka-2:9092,kafka-3:9092" in admin
        and "security.protocol=SASL_SSL" in admin
    )


def test_airflow_services_run_celery_on_postgres_redis_and_the_s3_lake() -> None:
    compose = _compose()
    services = compose["services"]
    for name in AIRFLOW_SERVICES:
        service = services[name]
        env = service["environment"]
        assert (
            env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
            and "@postgres:5432/" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        )
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:6379")
        assert (
            env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://")
            and "@postgres:5432/" in env["AIRFLOW__CELERY__RESULT_BACKEND"]
        )
        # workers report task state to the api-server service, on its container port
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka-1:9092,kafka-2:9092,kafka-3:9092"
        assert env["GDX_KAFKA_CLIENTS_DIR"] == "/opt/gdx/.gdx/compose/clients"
        assert "KAFKA_SASL_PASSWORD" not in env  # passwords live in the 0600 client files only
        # the lake is in the S3 server's bucket, with keys from .env (never in this file)
        assert env["GDX_LAKE_ROOT"] == "s3://gdx-lake/lake" and env["AWS_ENDPOINT_URL"] == "http://s3:9000"
        assert env["AWS_ACCESS_KEY_ID"].startswith("${GDX_S3_ACCESS_KEY") and env[
            "AWS_SECRET_ACCESS_KEY"
        ].startswith("${GDX_S3_SECRET_KEY")
        depends = service["depends_on"]
        for needed, condition in (("postgres", "service_healthy"), ("redis", "service_healthy"),
                                  ("kafka-provision", "service_completed_successfully"),
                                  ("s3-init", "service_completed_successfully"),
                                  ("airflow-init", "service_completed_successfully")):  # fmt: skip
            assert depends[needed]["condition"] == condition, (name, needed)
        assert "./:/opt/gdx" in service["volumes"]
        assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/gdx/dags"
    assert services["airflow-worker"]["command"] == "celery worker"
    assert services["airflow-worker"]["deploy"]["replicas"] == 2
    assert services["airflow-apiserver"]["ports"] == ["8080:8080"]
    init = " ".join(services["airflow-init"]["command"])
    assert "airflow db migrate" in init and "pools import /opt/gdx/dags/ingest_pools.json" in init
    dockerfile = (ROOT / compose["x-airflow"]["build"]["dockerfile"]).read_text()
    assert "requirements.lock" in dockerfile and "apache/airflow:3." in dockerfile


def test_s3_server_uses_the_env_keys_and_init_creates_the_lake_bucket() -> None:
    services = _compose()["services"]
    s3 = services["s3"]["environment"]
    assert s3["S3PROXY_AUTHORIZATION"] == "aws-v2-or-v4" and s3["S3PROXY_ENDPOINT"] == "http://0.0.0.0:9000"
    assert s3["S3PROXY_IDENTITY"].startswith("${GDX_S3_ACCESS_KEY") and s3["S3PROXY_CREDENTIAL"].startswith(
        "${GDX_S3_SECRET_KEY"
    )
    script = services["s3-init"]["command"][2]
    compile(script, "s3-init", "exec")  # the bucket-creating script is valid Python
    assert 'create_bucket(Bucket="gdx-lake")' in script
    assert services["s3-init"]["depends_on"] == {
        "s3": {"condition": "service_started"}
    }  # no cycle through the anchor
