"""The embedded local Kafka broker: Apache Kafka 4 in KRaft mode, single node, on loopback.

The broker is assembled from Maven Central (`kafka/pom.xml` → jars in the state folder) and run
with the machine's Java 17, so no Docker and no download from anywhere but Maven Central is
needed. `KAFKA_HOME` (an unpacked Kafka distribution) replaces the Maven jars;
`KAFKA_BOOTSTRAP_SERVERS` replaces the whole broker (nothing is started).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from gdx.security.kafka_conn import (
    KafkaConfigError,
    KafkaConnection,
    client_file,
    connection_for,
    local_clients_dir,
)
from gdx.security.principals import ADMIN, all_principals
from gdx.security.provision import Provisioner, ProvisionResult
from gdx.security.tls import BrokerTls, ensure_broker_tls, write_private
from gdx.settings import REPO_ROOT, Settings

log = logging.getLogger(__name__)

POM = REPO_ROOT / "kafka" / "pom.xml"
DEFAULT_PORT = 9092
START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0


class BrokerError(RuntimeError):
    """The local broker cannot be assembled, started, reached or stopped; the message says why."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _require(tool: str, why: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise BrokerError(f"`{tool}` is not on PATH: {why}")
    return path


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return str(Path(java_home) / "bin" / "java")
    return _require(
        "java", "the local broker needs Java 17+ (Debian: apt-get install openjdk-17-jre-headless)"
    )


def classpath(settings: Settings | None = None) -> str:
    """The broker's classpath, assembling the jars with Maven on first use (idempotent)."""
    settings = settings or Settings.from_env()
    if settings.kafka_home is not None:
        libs = settings.kafka_home / "libs"
        if not any(libs.glob("kafka_2.13-*.jar")):
            raise BrokerError(f"KAFKA_HOME={settings.kafka_home} has no libs/kafka_2.13-*.jar")
        return f"{libs}/*"
    return f"{ensure_jars(settings)}/*"


def ensure_jars(settings: Settings | None = None) -> Path:
    """Copy the broker's jars from Maven Central into `<state>/kafka/libs`, unless already current."""
    from gdx.maven_jars import MavenError, copy_dependencies

    settings = settings or Settings.from_env()
    try:
        return copy_dependencies(POM, settings.state_dir / "kafka" / "libs", "the Kafka jars")
    except MavenError as exc:
        raise BrokerError(str(exc)) from None


def secure_listener_props(
    client_listeners: dict[str, tuple[str, str]],
    controller_bind: str,
    tls: BrokerTls,
    admin_password: str | None,
) -> dict[str, str]:
    """Listener and security settings of a secure single-node broker (the local one and Docker's).

    `client_listeners`: name → (bind address, advertised address), each SASL_SSL with SCRAM-SHA-512;
    the first is also the inter-broker listener. The controller listens on `controller_bind`.
    """
    if not admin_password:
        raise BrokerError("a secure broker needs the gdx-admin password (it authenticates to itself)")
    names = list(client_listeners)
    scram = (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{ADMIN}" password="{admin_password}";'
    )
    plain = (
        f'org.apache.kafka.common.security.plain.PlainLoginModule required username="{ADMIN}" '
        f'password="{admin_password}" user_{ADMIN}="{admin_password}";'
    )
    props = {
        "listeners": ",".join(
            [
                *(f"{n}://{bind}" for n, (bind, _) in client_listeners.items()),
                f"CONTROLLER://{controller_bind}",
            ]
        ),  # fmt: skip
        "advertised.listeners": ",".join(f"{n}://{adv}" for n, (_, adv) in client_listeners.items()),
        "inter.broker.listener.name": names[0],
        "listener.security.protocol.map": ",".join(
            ["CONTROLLER:SASL_PLAINTEXT", *(f"{n}:SASL_SSL" for n in names)]
        ),
        "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
        "sasl.mechanism.controller.protocol": "PLAIN",
        # The controller listener: PLAIN, whose only user is gdx-admin (KRaft cannot check SCRAM
        # there). Listener-scoped JAAS: each listener accepts exactly one mechanism.
        "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
        "listener.name.controller.plain.sasl.jaas.config": plain,
    }
    for name in names:
        props[f"listener.name.{name.lower()}.sasl.enabled.mechanisms"] = "SCRAM-SHA-512"
        props[f"listener.name.{name.lower()}.scram-sha-512.sasl.jaas.config"] = scram
    return props | {
        "ssl.keystore.type": "PKCS12",
        "ssl.keystore.location": str(tls.keystore),
        "ssl.keystore.password": tls.keystore_password(),
        "ssl.key.password": tls.keystore_password(),
        # The broker is a TLS client of its own listener (inter-broker): trust our CA, as PEM.
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(tls.ca_cert),
        "ssl.endpoint.identification.algorithm": "https",
        "ssl.client.auth": "none",  # clients prove who they are with SCRAM, not certificates
        "ssl.enabled.protocols": "TLSv1.3,TLSv1.2",
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "allow.everyone.if.no.acl.found": "false",
        "super.users": f"User:{ADMIN}",
    }


def broker_base_props(
    voters: str, log_dirs: Path | str, node_id: int = 1, replicas: int = 1
) -> dict[str, str]:
    """Everything but listeners and security, for a combined broker+controller node.

    `replicas` is the cluster's size as far as durability goes: 1 for the single node, 3 for the
    three-node cluster, where internal topics and topics created without a replication factor get
    three replicas and an acknowledged write (acks=all) needs two of them in sync.
    """
    min_isr = "2" if replicas >= 3 else "1"
    rf = str(replicas)
    props = {
        "process.roles": "broker,controller",
        "node.id": str(node_id),
        "controller.quorum.voters": voters,
        "controller.listener.names": "CONTROLLER",
        "log.dirs": str(log_dirs),
        "num.partitions": "3",
        # Topics are created explicitly by producers/ingestion with the contract's settings.
        "auto.create.topics.enable": "false",
        # Internal topics have as many replicas as the cluster has nodes; fewer partitions start faster.
        "offsets.topic.replication.factor": rf,
        "offsets.topic.num.partitions": "5",
        "transaction.state.log.replication.factor": rf,
        "transaction.state.log.min.isr": min_isr,
        "transaction.state.log.num.partitions": "5",
        "share.coordinator.state.topic.replication.factor": rf,
        "share.coordinator.state.topic.min.isr": min_isr,
        "default.replication.factor": rf,
        "min.insync.replicas": min_isr,
        "group.initial.rebalance.delay.ms": "0",
        # Must line up with the producers' max.request.size and consumers' fetch sizes.
        "message.max.bytes": "1048588",
        "log.retention.hours": "168",
    }
    if replicas > 1:
        # On loopback a dead node is certain after 3 s, not Kafka's default 9 s: its partitions get a
        # new leader (and producers their acknowledgements) that much sooner.
        props |= {"broker.heartbeat.interval.ms": "500", "broker.session.timeout.ms": "3000"}
    return props


@dataclass
class LocalBroker:
    """One single-node KRaft broker whose data, logs, TLS material and pid live under `home`.

    Secure by default: clients connect on a `SASL_SSL` listener (SCRAM-SHA-512, TLS from the
    broker's own CA), the KRaft `StandardAuthorizer` denies whatever no ACL allows, and
    `gdx-admin` is the only super user. The broker authenticates to itself as gdx-admin: over
    SASL_SSL/SCRAM on the inter-broker (= client) listener, and over SASL_PLAINTEXT/PLAIN on the
    controller listener, which listens on loopback only (SCRAM cannot authenticate the
    controller listener in KRaft; PLAIN's only user there is gdx-admin). `insecure_plaintext`
    replaces all of it with one unauthenticated PLAINTEXT listener and no authorizer, for local
    experiments only, and says so loudly.

    Client-config files of every principal go to `clients_dir` (default `<home>/clients`).

    A node of a cluster (`gdx.kafka_cluster`) sets `node_id`, the shared `voters` and `cluster_id`,
    `replicas` (internal topics' replication) and `cluster_bootstrap` (what client files list).
    """

    home: Path
    port: int = DEFAULT_PORT
    controller_port: int | None = None
    heap: str = "768m"
    insecure_plaintext: bool = False
    clients_dir: Path | None = None
    tls_dir: Path | None = None
    node_id: int = 1
    voters: str | None = None
    cluster_id: str | None = None
    cluster_bootstrap: str | None = None
    replicas: int = 1

    def __post_init__(self) -> None:
        self.clients_dir = Path(self.clients_dir) if self.clients_dir else self.home / "clients"
        self.tls_dir = Path(self.tls_dir) if self.tls_dir else self.home / "tls"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.home / "logs" / "server.log"

    @property
    def _state_file(self) -> Path:
        return self.home / "broker.json"

    @property
    def ca_file(self) -> Path:
        return self.tls_dir / "ca.pem"  # type: ignore[operator]

    def provisioner(self) -> Provisioner:
        bootstrap = self.cluster_bootstrap or self.bootstrap
        return Provisioner(bootstrap, self.clients_dir, str(self.ca_file))  # type: ignore[arg-type]

    def connection(self, principal: str = ADMIN) -> KafkaConnection:
        """How `principal` connects to this broker (its provisioned client file; plain if insecure)."""
        if self.insecure_plaintext:
            return KafkaConnection(self.bootstrap, principal=principal)
        path = client_file(self.clients_dir, principal)  # type: ignore[arg-type]
        if not path.exists():
            raise KafkaConfigError(f"no credential for {principal!r} on the broker at {self.bootstrap}: "
                                   "run `gdx agencies provision`")  # fmt: skip
        return KafkaConnection.load(path, principal=principal)

    def provision(
        self, principals: list[str] | None = None, contracts_dir: Path | None = None
    ) -> ProvisionResult:
        """SCRAM credentials and client files for `principals` (default: every platform principal and agency)."""
        if principals is None:
            principals = all_principals(contracts_dir)
        if self.insecure_plaintext:
            for principal in principals:  # the same files, so `connection_for` works the same way
                KafkaConnection(self.bootstrap, principal=principal).write(
                    client_file(self.clients_dir, principal)
                )  # type: ignore[arg-type]
            return ProvisionResult(kept=list(principals))
        return self.provisioner().provision(principals)

    # -- state ---------------------------------------------------------------------------------
    def _read_state(self) -> dict | None:
        try:
            return json.loads(self._state_file.read_text())
        except (OSError, ValueError):
            return None

    def running_pid(self) -> int | None:
        """The pid of this broker if its process is alive (and is a Kafka JVM), else None."""
        state = self._read_state()
        if not state:
            return None
        pid = int(state["pid"])
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return None
        return pid if b"kafka.Kafka" in cmdline else None

    def is_up(self) -> bool:
        state = self._read_state()
        if self.running_pid() is None or state is None:
            return False
        if bool(state.get("insecure_plaintext")) != self.insecure_plaintext:
            return False  # running in the other mode: `start` restarts it as asked
        try:  # this node itself, not whichever node of a cluster answers first
            return answers(self.connection().with_bootstrap(self.bootstrap))
        except KafkaConfigError:
            return False

    # -- lifecycle -------------------------------------------------------------------------------
    def _listener_props(self, admin_password: str | None) -> dict[str, str]:
        cport = self.controller_port
        if self.insecure_plaintext:
            return {
                "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{cport}",
                "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
                "inter.broker.listener.name": "PLAINTEXT",
                "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            }
        address = f"127.0.0.1:{self.port}"
        return secure_listener_props(
            {"SASL_SSL": (address, address)},
            f"127.0.0.1:{cport}",
            BrokerTls(self.tls_dir),
            admin_password,  # type: ignore[arg-type]
        )

    def _write_config(self, admin_password: str | None = None) -> Path:
        props = {
            **broker_base_props(
                self.voters or f"{self.node_id}@127.0.0.1:{self.controller_port}",
                self.home / "data",
                node_id=self.node_id,
                replicas=self.replicas,
            ),
            **self._listener_props(admin_password),
        }
        config = self.home / "server.properties"
        # It holds the admin's password and the keystore's: owner-only.
        write_private(config, "".join(f"{k}={v}\n" for k, v in props.items()))
        (self.home / "log4j2.properties").write_text(
            "status = warn\n"
            "appender.file.type = File\n"
            "appender.file.name = file\n"
            f"appender.file.fileName = {self.log_file}\n"
            "appender.file.layout.type = PatternLayout\n"
            "appender.file.layout.pattern = [%d] %p %m (%c)%n\n"
            "rootLogger.level = INFO\n"
            "rootLogger.appenderRef.file.ref = file\n"
            "logger.kafka.name = kafka\nlogger.kafka.level = WARN\n"
            "logger.apache.name = org.apache.kafka\nlogger.apache.level = WARN\n"
        )
        return config

    def _java_cmd(self, cp: str, main: str, *args: str) -> list[str]:
        return [
            _java(), f"-Xmx{self.heap}", "-Xms128m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}",
            "-cp", cp, main, *args,
        ]  # fmt: skip

    def start(self, settings: Settings | None = None, timeout: float = START_TIMEOUT_S) -> str:
        """Start the broker (a no-op if this one already runs) and wait until it answers."""
        if self.is_up():
            return self._read_state()["bootstrap"]  # type: ignore[index]
        proc = self.launch(settings)
        if not self.insecure_plaintext:
            self.provisioner().refresh(all_known(self.clients_dir))  # a new port: same passwords
        self.wait_ready(proc, timeout)
        return self.bootstrap

    def launch(self, settings: Settings | None = None, admin_password: str | None = None) -> subprocess.Popen:
        """Format the storage on first use and start the JVM, without waiting for it to answer
        (the nodes of a cluster start together: none answers before a quorum of them runs)."""
        if self.running_pid() is not None:
            self.stop()
        if port_in_use(self.port):
            raise BrokerError(
                f"port {self.port} on 127.0.0.1 is already taken by another program; "
                "stop it, choose another with --port, or point KAFKA_BOOTSTRAP_SERVERS at an existing broker"
            )
        self.controller_port = self.controller_port or free_port()
        cp = classpath(settings)
        self.home.mkdir(parents=True, exist_ok=True)
        self.home.chmod(0o700)  # data segments, keystore and config with passwords
        (self.home / "logs").mkdir(parents=True, exist_ok=True)
        formatted = self.home / "data" / "meta.properties"
        mode_file = self.home / "security.mode"
        mode = "insecure-plaintext" if self.insecure_plaintext else "sasl_ssl"
        if formatted.exists() and mode_file.exists() and mode_file.read_text().strip() != mode:
            if mode == "sasl_ssl":
                # Data formatted without the admin's SCRAM credential cannot be secured afterwards.
                raise BrokerError(
                    f"the broker data under {self.home / 'data'} was formatted in insecure plaintext mode; "
                    "delete that folder to start it secure (its topics are lost)"
                )
        if self.insecure_plaintext:
            log.warning(
                "INSECURE: starting the Kafka broker with an unauthenticated PLAINTEXT listener on %s and no "
                "authorizer: any local client may read and write every topic, personal-data topics included",
                self.bootstrap,
            )
        else:
            if admin_password is None:  # a cluster made both once, for all of its nodes
                ensure_broker_tls(self.tls_dir)  # type: ignore[arg-type]
                admin_password = self.provisioner().admin_password()
        config = self._write_config(admin_password)
        if not formatted.exists():
            cluster_id = self.cluster_id or _cluster_id(self.home)
            args = ["format", "-t", cluster_id, "-c", str(config)]
            if admin_password is not None:
                # KIP-900: the admin's credential is in the metadata log before the broker first
                # starts, so the broker can authenticate to itself as gdx-admin.
                args += ["--add-scram", f"SCRAM-SHA-512=[name={ADMIN},password={admin_password}]"]
            fmt = subprocess.run(
                self._java_cmd(cp, "kafka.tools.StorageTool", *args), capture_output=True, text=True
            )
            if fmt.returncode != 0:
                raise BrokerError(f"formatting the KRaft storage failed:\n{fmt.stdout}{fmt.stderr}")
            mode_file.write_text(mode)
        out = open(self.home / "logs" / "stdout.log", "ab")
        proc = subprocess.Popen(
            self._java_cmd(cp, "kafka.Kafka", str(config)),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # the broker outlives `gdx kafka up`; `down` stops it
        )
        out.close()
        self._state_file.write_text(
            json.dumps(
                {
                    "pid": proc.pid,
                    "bootstrap": self.bootstrap,
                    "controller_port": self.controller_port,
                    "insecure_plaintext": self.insecure_plaintext,
                }
            )
        )
        return proc

    def wait_ready(self, proc: subprocess.Popen, timeout: float = START_TIMEOUT_S) -> None:
        """Wait until this node answers and serves consumer groups; stop it and raise if it does not."""
        probe = self.connection().with_bootstrap(self.bootstrap)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise BrokerError(
                    f"the broker exited with code {proc.returncode} while starting.\n{self.log_tail()}"
                )
            if answers(probe) and _group_coordinator_ready(probe):
                return
            time.sleep(0.3)
        self.stop()
        raise BrokerError(
            f"the broker did not answer on {self.bootstrap} within {timeout:.0f}s.\n{self.log_tail()}"
        )

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> bool:
        """Stop the broker (SIGTERM, then SIGKILL after `timeout`); True if one was running."""
        pid = self.running_pid()
        if pid is None:
            self._state_file.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.2)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.1)
        self._state_file.unlink(missing_ok=True)
        return True

    def log_tail(self, lines: int = 30) -> str:
        chunks = []
        for log in (self.home / "logs" / "stdout.log", self.log_file):
            if log.exists():
                tail = log.read_text(errors="replace").splitlines()[-lines:]
                chunks.append(f"--- last lines of {log} ---\n" + "\n".join(tail))
        return "\n".join(chunks) or "(the broker wrote no log)"


def _cluster_id(home: Path) -> str:
    # A KRaft cluster id is 16 random bytes in URL-safe base64 without padding (what
    # `kafka-storage random-uuid` prints); stored so a restart reuses the formatted storage.
    path = home / "cluster.id"
    if path.exists():
        stored = path.read_text().strip()
        if stored and not stored.startswith("-"):
            return stored
    cid = new_cluster_id()
    path.write_text(cid)
    return cid


def new_cluster_id() -> str:
    """A random KRaft cluster id that never starts with "-".

    The storage tool's argument parser reads an id such as "-x3f…" as an unknown option (one
    random id in 64 starts with "-"); Kafka's own `Uuid.randomUuid()` rejects such ids for the
    same reason, so we do too.
    """
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie child of ours counts as gone
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def all_known(clients_dir: Path | None) -> list[str]:
    """Principals that have a client file in `clients_dir`."""
    if clients_dir is None or not Path(clients_dir).is_dir():
        return []
    return sorted(p.name.removesuffix(".properties") for p in Path(clients_dir).glob("*.properties")
                  if not p.name.endswith(".java.properties"))  # fmt: skip


def answers(conn: KafkaConnection, timeout_s: float = 3.0) -> bool:
    """True when a Kafka broker answers `conn`'s metadata request (authenticated if `conn` is)."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        admin = KafkaAdminClient(
            **conn.kafka_python(),
            request_timeout_ms=int(timeout_s * 1000),
            bootstrap_timeout_ms=int(timeout_s * 1000),
            client_id="gdx-probe",
        )
    except (KafkaError, OSError):
        return False
    try:
        admin.list_topics()
        return True
    except (KafkaError, OSError):
        return False
    finally:
        admin.close()


def _group_coordinator_ready(conn: KafkaConnection, timeout_s: float = 5.0) -> bool:
    """True once the broker answers for consumer groups: a fresh broker answers metadata before it
    has created `__consumer_offsets` and elected itself coordinator, and a consumer's first
    commit or offset fetch in that window fails with NOT_COORDINATOR."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({**conn.librdkafka(), "logger": log})
    try:
        admin.describe_consumer_groups(["gdx.probe"], request_timeout=timeout_s)["gdx.probe"].result()
        return True
    except KafkaException:
        return False


def default_broker(
    settings: Settings | None = None, port: int | None = None, insecure_plaintext: bool | None = None
) -> LocalBroker:
    """The broker `gdx kafka up` manages: home `<state>/kafka/broker`, client files in
    `<state>/kafka/clients`, TLS material in `<state>/kafka/tls`.

    `insecure_plaintext=None` keeps the mode it runs in (secure when it has never run).
    """
    settings = settings or Settings.from_env()
    home = settings.state_dir / "kafka" / "broker"
    home.mkdir(parents=True, exist_ok=True)
    broker = LocalBroker(
        home=home,
        port=port or DEFAULT_PORT,
        clients_dir=local_clients_dir(settings),
        tls_dir=settings.state_dir / "kafka" / "tls",
    )
    state = broker._read_state()
    if port is None and state:
        broker.port = int(state["bootstrap"].rsplit(":", 1)[1])
        broker.controller_port = int(state["controller_port"])
    if insecure_plaintext is None:
        insecure_plaintext = bool(state and state.get("insecure_plaintext"))
    broker.insecure_plaintext = insecure_plaintext
    return broker


def bootstrap_address(settings: Settings | None = None) -> str:
    """Where clients connect: the configured cluster (env), else the running local broker."""
    return connection_for(ADMIN, settings).bootstrap


@contextmanager
def throwaway_broker(
    root: Path, settings: Settings | None = None, insecure_plaintext: bool = False, provision: bool = True
) -> Iterator[LocalBroker]:
    """A broker on free ports under `root` with every principal provisioned (unless `provision`
    is False), stopped (and its Java process gone) on exit."""
    broker = LocalBroker(home=root, port=free_port(), heap="512m", insecure_plaintext=insecure_plaintext)
    try:  # an interrupted start (Ctrl-C while it waits for the JVM) must not leave the JVM behind
        broker.start(settings)
        if provision:
            broker.provision(contracts_dir=(settings or Settings.from_env()).contracts_dir)
        yield broker
    finally:
        broker.stop()
