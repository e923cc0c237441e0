"""A local Kafka cluster of several KRaft nodes on loopback (`gdx kafka up --brokers 3`).

Each node is a `LocalBroker` in combined mode (broker + controller), and the controllers form one
static quorum (`controller.quorum.voters` lists all nodes): three JVMs instead of six on a small
box, and any one node may die while the other two keep both a metadata quorum (2 of 3 voters) and
an in-sync majority for every partition (replication factor 3, `min.insync.replicas=2`).

Secured exactly like the single node: each node's client listener is SASL_SSL with SCRAM-SHA-512
and is also the inter-broker listener (replication authenticates as gdx-admin over TLS), the
controller listener is SASL_PLAINTEXT/PLAIN on loopback, the StandardAuthorizer denies by default.
All nodes run on 127.0.0.1, so one broker certificate (SAN 127.0.0.1 and localhost, from the
cluster's own CA) is valid for every node. gdx-admin's SCRAM credential is bootstrapped into the
metadata log when each node is formatted (same cluster id, same voters); every other principal
is provisioned once, through the Admin API, after the cluster answers.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from gdx.kafka_local import (
    START_TIMEOUT_S,
    BrokerError,
    LocalBroker,
    _cluster_id,
    all_known,
    free_port,
    port_in_use,
)
from gdx.security.kafka_conn import KafkaConnection, local_clients_dir
from gdx.security.principals import ADMIN, all_principals
from gdx.security.provision import Provisioner, ProvisionResult
from gdx.security.tls import ensure_broker_tls
from gdx.settings import Settings

log = logging.getLogger(__name__)

CLUSTER_HEAP = "384m"  # three JVMs on a 2-core box next to the rest of the platform


@dataclass
class LocalCluster:
    """`size` combined KRaft nodes under `home/node-<id>`, client files in `clients_dir`.

    Ports (client and controller, per node) are chosen on first start and kept in
    `home/cluster.json`: a static quorum's voters are part of each node's configuration, so a
    restarted cluster listens where it was formatted to.
    """

    home: Path
    size: int = 3
    base_port: int | None = None
    heap: str = CLUSTER_HEAP
    clients_dir: Path | None = None
    tls_dir: Path | None = None
    nodes: list[LocalBroker] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.home = Path(self.home)
        self.clients_dir = Path(self.clients_dir) if self.clients_dir else self.home / "clients"
        self.tls_dir = Path(self.tls_dir) if self.tls_dir else self.home / "tls"
        if not self.nodes:
            self.nodes = self._make_nodes()

    @property
    def _state_file(self) -> Path:
        return self.home / "cluster.json"

    def _ports(self) -> list[tuple[int, int]]:
        try:
            state = json.loads(self._state_file.read_text())
            return [(int(n["port"]), int(n["controller_port"])) for n in state["nodes"]]
        except (OSError, ValueError, KeyError):
            pass
        if self.base_port:
            clients = [self.base_port + i for i in range(self.size)]
        else:
            clients = [free_port() for _ in range(self.size)]
        return [(port, free_port()) for port in clients]

    def _make_nodes(self) -> list[LocalBroker]:
        ports = self._ports()
        voters = ",".join(f"{i}@127.0.0.1:{cport}" for i, (_, cport) in enumerate(ports, start=1))
        bootstrap = ",".join(f"127.0.0.1:{port}" for port, _ in ports)
        return [
            LocalBroker(
                home=self.home / f"node-{i}",
                port=port,
                controller_port=cport,
                heap=self.heap,
                clients_dir=self.clients_dir,
                tls_dir=self.tls_dir,
                node_id=i,
                voters=voters,
                cluster_bootstrap=bootstrap,
                replicas=len(ports),
            )
            for i, (port, cport) in enumerate(ports, start=1)
        ]

    @property
    def bootstrap(self) -> str:
        return ",".join(n.bootstrap for n in self.nodes)

    @property
    def log_file(self) -> Path:
        return self.nodes[0].log_file

    @property
    def ca_file(self) -> Path:
        return self.tls_dir / "ca.pem"  # type: ignore[operator]

    def node(self, node_id: int) -> LocalBroker:
        """The node whose `node.id` (= Kafka broker id) is `node_id`."""
        for n in self.nodes:
            if n.node_id == node_id:
                return n
        raise KeyError(f"no node {node_id} in the cluster under {self.home}")

    def provisioner(self) -> Provisioner:
        return Provisioner(self.bootstrap, self.clients_dir, str(self.ca_file))  # type: ignore[arg-type]

    def connection(self, principal: str = ADMIN) -> KafkaConnection:
        return self.nodes[0].connection(principal)

    def provision(
        self, principals: list[str] | None = None, contracts_dir: Path | None = None
    ) -> ProvisionResult:
        """SCRAM credentials and client files for `principals` (default: every platform principal and agency)."""
        return self.provisioner().provision(
            principals if principals is not None else all_principals(contracts_dir)
        )

    insecure_plaintext = False  # the cluster runs secured only

    # -- lifecycle -------------------------------------------------------------------------------
    def running_pid(self) -> int | None:
        """The pid of one running node (any), else None: the single broker's interface."""
        return next(iter(self.running().values()), None)

    def running(self) -> dict[int, int]:
        """node id → pid of each node whose JVM is alive."""
        return {n.node_id: pid for n in self.nodes if (pid := n.running_pid()) is not None}

    def is_up(self) -> bool:
        return all(n.is_up() for n in self.nodes)

    def start(self, settings: Settings | None = None, timeout: float = START_TIMEOUT_S) -> str:
        """Start every node that does not run (all at once: none answers before a quorum runs),
        then wait until each answers, serves consumer groups and sees all its peers."""
        if self.is_up():
            return self.bootstrap
        self.home.mkdir(parents=True, exist_ok=True)
        self.home.chmod(0o700)
        down = [n for n in self.nodes if not n.is_up()]
        taken = [n.port for n in down if n.running_pid() is None and port_in_use(n.port)]
        if taken:
            raise BrokerError(
                f"port(s) {', '.join(map(str, taken))} on 127.0.0.1 are taken by another program; stop it, "
                "or run `gdx kafka down` and delete the cluster folder to choose new ports"
            )
        ensure_broker_tls(self.tls_dir)  # type: ignore[arg-type]
        admin_password = self.provisioner().admin_password()
        cluster_id = _cluster_id(self.home)  # one id for all nodes, stored for restarts
        procs = []
        try:
            for n in down:
                n.cluster_id = cluster_id
                procs.append((n, n.launch(settings, admin_password=admin_password)))
            self._state_file.write_text(
                json.dumps(
                    {
                        "cluster_id": cluster_id,
                        "nodes": [
                            {"node_id": n.node_id, "port": n.port, "controller_port": n.controller_port}
                            for n in self.nodes
                        ],
                    }
                )
            )
            self.provisioner().refresh(all_known(self.clients_dir))  # new ports: same passwords
            deadline = time.monotonic() + timeout
            for n, proc in procs:
                n.wait_ready(proc, max(1.0, deadline - time.monotonic()))
            self._wait_all_registered(deadline)
        except BaseException:  # an interrupted start must not leave JVMs behind
            self.stop()
            raise
        return self.bootstrap

    def _wait_all_registered(self, deadline: float) -> None:
        """Replication factor 3 is refused until all three brokers have registered."""
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({**self.connection().librdkafka(), "logger": log})
        seen: set[int] = set()
        while time.monotonic() < deadline:
            try:
                seen = set(admin.list_topics(timeout=5).brokers)
            except KafkaException:
                seen = set()
            if seen >= {n.node_id for n in self.nodes}:
                return
            time.sleep(0.3)
        raise BrokerError(f"only brokers {sorted(seen)} of {self.size} registered in time")

    def stop(self) -> bool:
        """Stop every node (SIGTERM, then SIGKILL); True if any was running."""
        # All at once: a node stopped after its peers waits for a quorum that is gone (30 s each).
        for pid in self.running().values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        stopped = False
        for n in self.nodes:
            stopped = n.stop() or stopped
        return stopped

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(f"== node {n.node_id} ==\n{n.log_tail(lines)}" for n in self.nodes)


def cluster_home(settings: Settings) -> Path:
    return settings.state_dir / "kafka" / "cluster"


def default_cluster(
    settings: Settings | None = None, base_port: int | None = None, size: int = 3
) -> LocalCluster:
    """The cluster `gdx kafka up --brokers 3` manages: nodes under `<state>/kafka/cluster`, client
    files and TLS material shared with the single broker (`<state>/kafka/clients`, `…/tls`), so
    every client finds the cluster the same way it finds the single broker."""
    settings = settings or Settings.from_env()
    return LocalCluster(
        home=cluster_home(settings),
        size=size,
        base_port=base_port,
        clients_dir=local_clients_dir(settings),
        tls_dir=settings.state_dir / "kafka" / "tls",
    )


def cluster_exists(settings: Settings) -> bool:
    return (cluster_home(settings) / "cluster.json").exists()


@contextmanager
def throwaway_cluster(root: Path, settings: Settings | None = None, size: int = 3) -> Iterator[LocalCluster]:
    """A secured cluster of `size` nodes on free ports under `root`, every principal provisioned,
    all JVMs gone on exit."""
    cluster = LocalCluster(home=root, size=size)
    try:
        cluster.start(settings)
        cluster.provision(contracts_dir=(settings or Settings.from_env()).contracts_dir)
        yield cluster
    finally:
        cluster.stop()


def local_kafka(settings: Settings | None = None) -> LocalBroker | LocalCluster:
    """What `gdx kafka up` left running: the cluster if any of its nodes runs, else the single broker."""
    from gdx.kafka_local import default_broker

    settings = settings or Settings.from_env()
    if cluster_exists(settings):
        cluster = default_cluster(settings)
        if cluster.running():
            return cluster
    return default_broker(settings)
