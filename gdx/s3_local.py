"""A local S3-compatible server for the lake: S3Proxy over a folder, on loopback.

S3Proxy is assembled from Maven Central (`s3proxy/pom.xml` → jars in `<state>/s3/libs`) and run
with the machine's Java 17, as the Kafka broker is (`gdx.kafka_local`); nothing else is reachable
from the machines this runs on. It speaks AWS SigV4 with a generated key pair (never a fixed one)
and implements conditional PutObject (`If-None-Match: *`, `If-Match: <etag>`), which the lake
lease uses. Its filesystem backend is not a distributed store: it stands in for S3's API and its
visibility rules (an object appears whole when its upload completes), not for S3's durability.

`S3Server.env()` is what a client of the lake needs: the standard `AWS_*` variables (boto3, the
AWS SDK inside pyarrow and DuckDB all read them) plus `GDX_LAKE_ROOT=s3://<bucket>/<prefix>`.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gdx.kafka_local import free_port, port_in_use
from gdx.settings import REPO_ROOT, Settings

POM = REPO_ROOT / "s3proxy" / "pom.xml"
MAIN = "org.gaul.s3proxy.Main"
REGION = "us-east-1"
START_TIMEOUT_S = 60.0


class S3ServerError(RuntimeError):
    """The local S3 server cannot be assembled, started or reached; the message says why."""


def ensure_jars(settings: Settings | None = None) -> Path:
    """Copy S3Proxy's jars from Maven Central into `<state>/s3/libs`, unless already current."""
    from gdx.maven_jars import MavenError, copy_dependencies

    settings = settings or Settings.from_env()
    try:
        return copy_dependencies(POM, settings.state_dir / "s3" / "libs", "S3Proxy")
    except MavenError as exc:
        raise S3ServerError(str(exc)) from None


@dataclass
class S3Server:
    """One S3Proxy process serving `home/data` on `127.0.0.1:port`."""

    home: Path
    port: int
    bucket: str = "gdx-lake"
    access_key: str = field(default_factory=lambda: "gdx" + secrets.token_hex(8))
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(30))
    process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def log_file(self) -> Path:
        return self.home / "s3proxy.log"

    def lake_root(self, prefix: str = "lake") -> str:
        return f"s3://{self.bucket}/{prefix.strip('/')}"

    def env(self, prefix: str = "lake") -> dict[str, str]:
        """Client environment for this server (standard AWS variables + the lake root)."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ENDPOINT_URL_S3": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
            "GDX_LAKE_ROOT": self.lake_root(prefix),
        }

    def client(self) -> Any:  # boto3 generates the client class at run time
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=REGION,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3, "mode": "standard"}),
        )

    def _write_config(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        conf = self.home / "s3proxy.conf"
        props = {
            "s3proxy.endpoint": self.endpoint,
            "s3proxy.authorization": "aws-v2-or-v4",
            "s3proxy.identity": self.access_key,
            "s3proxy.credential": self.secret_key,
            "jclouds.provider": "filesystem",
            "jclouds.filesystem.basedir": str(self.data_dir),
        }
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds the secret key
        with os.fdopen(fd, "w") as fh:
            fh.write("".join(f"{k}={v}\n" for k, v in props.items()))
        return conf

    def start(self, settings: Settings | None = None, timeout: float = START_TIMEOUT_S) -> None:
        from gdx.kafka_local import _java

        if port_in_use(self.port):
            raise S3ServerError(f"port {self.port} is already in use")
        libs = ensure_jars(settings)
        conf = self._write_config()
        log = open(self.log_file, "ab")  # the child process keeps it open
        self.process = subprocess.Popen(
            [_java(), "-Xmx256m", "-cp", f"{libs}/*", MAIN, "--properties", str(conf)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while not port_in_use(self.port):
            if self.process.poll() is not None:
                raise S3ServerError(f"S3Proxy exited with {self.process.returncode}; see {self.log_file}")
            if time.monotonic() > deadline:
                self.stop()
                raise S3ServerError(
                    f"S3Proxy did not listen on {self.port} within {timeout:.0f} s; see {self.log_file}"
                )
            time.sleep(0.2)
        self._create_bucket(deadline)
        (self.home / "server.json").write_text(json.dumps({"pid": self.process.pid, "port": self.port}))

    def _create_bucket(self, deadline: float) -> None:
        from botocore.exceptions import ClientError, EndpointConnectionError

        s3 = self.client()
        while True:
            try:
                s3.create_bucket(Bucket=self.bucket)
                return
            except ClientError as exc:
                if exc.response["Error"]["Code"] in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    return
                raise S3ServerError(f"S3Proxy refused to create bucket {self.bucket}: {exc}") from None
            except EndpointConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(15)


@contextmanager
def throwaway_s3(root: Path, settings: Settings | None = None) -> Iterator[S3Server]:
    """An S3 server on a free port under `root`, stopped (its JVM gone) on exit."""
    server = S3Server(home=Path(root), port=free_port())
    try:
        server.start(settings)
        yield server
    finally:
        server.stop()
