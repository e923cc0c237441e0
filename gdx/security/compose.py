"""The Docker Compose broker's configuration, made by the same code as the local broker's.

`docker compose up` runs `python -m gdx.security.compose setup <dir>` first (service
`kafka-setup`): CA and broker certificate (valid for the compose host names `kafka-1`…`kafka-3`
and for `localhost`), the PKCS12 keystore, gdx-admin's password and one `server.properties` per
node (`<dir>/kafka/kafka-<n>/`) with the same security as `gdx kafka up` (SASL_SSL +
SCRAM-SHA-512 on every client listener, PLAIN for the controller, StandardAuthorizer, deny by
default, gdx-admin the only super user) and the durability of `gdx kafka up --nodes 3`: three
combined broker+controller nodes in a static quorum, replication factor 3, min.insync.replicas 2,
so any one node may be down. Each `kafka-<n>` service formats its storage with the admin's SCRAM
credential (KIP-900) and starts on its file. Once all are healthy,
`python -m gdx.security.compose provision <dir>` (service `kafka-provision`) gives every principal
its credential and client file under `<dir>/clients/` (in-network bootstrap: the three nodes),
which the Airflow services use through `GDX_KAFKA_CLIENTS_DIR`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from gdx.kafka_local import broker_base_props, secure_listener_props
from gdx.security.principals import ADMIN, all_principals
from gdx.security.provision import Provisioner
from gdx.security.tls import ensure_broker_tls, write_private

NODES = (1, 2, 3)
IN_NETWORK = ",".join(f"kafka-{n}:9092" for n in NODES)  # what the Airflow containers use
VOTERS = ",".join(f"{n}@kafka-{n}:9093" for n in NODES)  # controllers, not published


def from_host(node: int) -> str:
    """The node's published port, for clients on the Docker host (29092, 29093, 29094)."""
    return f"localhost:{29091 + node}"


DATA_DIR = "/var/lib/kafka/data"
KAFKA_UID = 1000  # `appuser` of the apache/kafka image
AIRFLOW_UID = 50000  # `airflow` of the apache/airflow image


def provisioner(folder: Path) -> Provisioner:
    return Provisioner(IN_NETWORK, folder / "clients", str(folder / "tls" / "ca.pem"))


def server_properties(folder: Path, admin_password: str, node: int) -> dict[str, str]:
    hosts = (*(f"kafka-{n}" for n in NODES), "localhost")
    tls = ensure_broker_tls(folder / "tls", hosts=hosts, ips=("127.0.0.1",))
    host_port = from_host(node).rsplit(":", 1)[1]
    listeners = {
        "SASL_SSL": ("0.0.0.0:9092", f"kafka-{node}:9092"),
        "HOST": (f"0.0.0.0:{host_port}", from_host(node)),
    }
    return {
        **broker_base_props(VOTERS, DATA_DIR, node_id=node, replicas=len(NODES)),
        **secure_listener_props(listeners, "0.0.0.0:9093", tls, admin_password),
    }


def setup(folder: Path) -> None:
    """Everything the `kafka` service needs before it starts (idempotent: passwords are kept)."""
    folder.mkdir(parents=True, exist_ok=True)
    admin_password = provisioner(folder).admin_password()
    kafka_dir = folder / "kafka"
    for node in NODES:
        props = server_properties(folder, admin_password, node)
        write_private(
            kafka_dir / f"kafka-{node}" / "server.properties", "".join(f"{k}={v}\n" for k, v in props.items())
        )
    write_private(kafka_dir / "admin.scram", f"SCRAM-SHA-512=[name={ADMIN},password={admin_password}]")
    # The broker's own healthcheck logs in as gdx-admin with Kafka's Java tools.
    provisioner(folder).connection(ADMIN, admin_password).write_java(kafka_dir / "healthcheck.properties")
    if os.geteuid() == 0:  # the setup container runs as root; each service reads only its own files
        for path in (
            folder / "tls",
            *sorted((folder / "tls").iterdir()),
            kafka_dir,
            *sorted(kafka_dir.rglob("*")),
        ):
            os.chown(path, KAFKA_UID, KAFKA_UID)
        (folder / "tls" / "ca.pem").chmod(0o644)
        (folder / "tls").chmod(0o711)  # others may reach ca.pem, not list or read the keys
        _chown_clients(folder)


def provision(folder: Path) -> None:
    result = provisioner(folder).provision(all_principals())
    if os.geteuid() == 0:
        _chown_clients(folder)
    print(f"created {len(result.created)}, kept {len(result.kept) + len(result.restored)} principals")


def _chown_clients(folder: Path) -> None:
    clients = folder / "clients"
    for path in (clients, *sorted(clients.iterdir())):
        os.chown(path, AIRFLOW_UID, 0)


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] not in ("setup", "provision"):
        print("usage: python -m gdx.security.compose setup|provision DIR", file=sys.stderr)
        return 2
    {"setup": setup, "provision": provision}[argv[1]](Path(argv[2]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
