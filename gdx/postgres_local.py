"""A throwaway PostgreSQL for tests and the local Airflow: Debian's server binaries, one cluster in
a temp dir, on a free loopback port, its unix socket in that dir.

Airflow's LocalExecutor with a scheduler, dag-processor, triggerer and api-server as separate
processes needs a database that takes concurrent writers; SQLite does not. The binaries come from
Debian's `postgresql` package (`/usr/lib/postgresql/<major>/bin`; `make postgres` installs it when
root and missing). Postgres refuses to run as root, so when we are root the cluster runs as an
unprivileged user (`nobody`) and its directory is chowned to it.

The cluster is for throwaway state only: fsync and synchronous commit are off (a crash loses the
whole temp dir anyway). TCP clients authenticate with a generated password (scram-sha-256);
only the unix socket in the cluster's own 0700 dir is trusted, for the superuser's setup.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from gdx.kafka_local import free_port

SUPERUSER = "gdx_super"
UNPRIVILEGED_USER = "nobody"
STOP_WAIT_S = 15.0
START_TIMEOUT_S = 60


class PostgresError(RuntimeError):
    """The local PostgreSQL cannot be found, initialised or started; the message says why."""


def find_bin_dir() -> Path:
    """The newest `/usr/lib/postgresql/<major>/bin` that has initdb, pg_ctl and postgres."""
    found = []
    for candidate in glob.glob("/usr/lib/postgresql/*/bin"):
        path = Path(candidate)
        major = path.parent.name
        if major.isdigit() and all((path / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            found.append((int(major), path))
    if not found:
        raise PostgresError(
            "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin; "
            "install Debian's `postgresql` package (`make postgres` does it when run as root)"
        )
    return max(found)[1]


def _run_as() -> tuple[int, int] | None:
    """(uid, gid) to run the server as when we are root (Postgres refuses root), else None."""
    if os.geteuid() != 0:
        return None
    user = pwd.getpwnam(UNPRIVILEGED_USER)
    return user.pw_uid, user.pw_gid


@dataclass
class LocalPostgres:
    """One PostgreSQL cluster under `home` (data/, socket dir, log) on 127.0.0.1:`port`."""

    home: Path
    port: int = field(default_factory=free_port)
    database: str = "airflow"
    user: str = "airflow"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    bin_dir: Path = field(default_factory=find_bin_dir)
    _started: bool = False

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def socket_dir(self) -> Path:
        return self.home / "run"

    @property
    def log_file(self) -> Path:
        return self.home / "postgres.log"

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the application database (TCP, password auth)."""
        return f"postgresql+psycopg2://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.database}"

    def _tool(
        self, name: str, *args: str, timeout: float = START_TIMEOUT_S
    ) -> subprocess.CompletedProcess[str]:
        owner = _run_as()
        done = subprocess.run(
            [str(self.bin_dir / name), *args],
            cwd=self.home,  # the unprivileged user cannot read root's working directory
            env={
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "LC_ALL": "C.UTF-8",
                "HOME": str(self.home),
            },
            user=owner[0] if owner else None,
            group=owner[1] if owner else None,
            extra_groups=[] if owner else None,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise PostgresError(
                f"{name} failed ({done.returncode}): {(done.stdout + done.stderr)[-2000:]}{self.log_tail()}"
            )
        return done

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_file.exists():
            return ""
        tail = self.log_file.read_text(errors="replace").splitlines()[-lines:]
        return "\n--- postgres.log ---\n" + "\n".join(tail)

    def start(self) -> None:
        """initdb, start on `port`, create the application role and database."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        owner = _run_as()
        if owner:
            for path in (self.home, self.socket_dir):
                os.chown(path, *owner)
        os.chmod(self.home, 0o700)
        pwfile = self.home / "superuser.pw"  # initdb needs a password for the scram-sha-256 host rule
        pwfile.write_text(secrets.token_urlsafe(18) + "\n")
        if owner:
            os.chown(pwfile, *owner)
        self._tool("initdb", "-D", str(self.data_dir), "-U", SUPERUSER, f"--pwfile={pwfile}", "-E", "UTF8",
                   "--auth-local=trust", "--auth-host=scram-sha-256", "--no-instructions")  # fmt: skip
        pwfile.unlink()
        options = " ".join(
            [f"-p {self.port}", f"-k {self.socket_dir}", "-c listen_addresses=127.0.0.1",
             "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off",
             "-c shared_buffers=32MB", "-c max_connections=200"]
        )  # fmt: skip
        self._tool("pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-o", options, "-w",
                   "-t", str(START_TIMEOUT_S), "start")  # fmt: skip
        self._started = True
        atexit.register(self.stop)
        self._create_app_database()

    def _create_app_database(self) -> None:
        import psycopg2

        conn = psycopg2.connect(host=str(self.socket_dir), port=self.port, user=SUPERUSER, dbname="postgres")
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(f'CREATE ROLE "{self.user}" LOGIN PASSWORD %s', (self.password,))
                cur.execute(f'CREATE DATABASE "{self.database}" OWNER "{self.user}"')
        finally:
            conn.close()

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self) -> None:
        """Fast shutdown (open sessions are rolled back); idempotent. Returns once the postmaster
        process has exited: `pg_ctl stop -w` returns when the pid file is gone, which the postmaster
        removes a moment before it exits, and a caller that then deletes the data dir or reuses
        the port must not race it."""
        if not self._started:
            return
        self._started = False
        pid = self.postmaster_pid()
        try:
            self._tool("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
        except (PostgresError, subprocess.TimeoutExpired):
            pass  # already gone: nothing to stop
        if pid is not None:
            deadline = time.monotonic() + STOP_WAIT_S
            while process_running(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
        atexit.unregister(self.stop)


def process_running(pid: int) -> bool:
    """True while `pid` exists and is not a zombie (an exited child nobody has reaped yet)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            state = handle.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in {"Z", "X"}


@contextmanager
def throwaway_postgres(database: str = "airflow", user: str = "airflow") -> Iterator[LocalPostgres]:
    """A started cluster in a fresh temp dir under the system temp folder (world-traversable, so
    the unprivileged server user can reach it; pytest's tmp dirs are root-only), removed on exit."""
    home = Path(tempfile.mkdtemp(prefix="gdx-pg-"))
    server = LocalPostgres(home=home, database=database, user=user)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)
