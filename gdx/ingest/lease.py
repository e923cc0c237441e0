"""One writer per dataset across hosts: a lease on the lake itself, with a fencing token.

The flock of `gdx.ingest.locking` guards one host. Two Airflow workers on two hosts (a retry
while the first copy still runs) share only the lake, so the lease lives there:

    <lake>/_leases/<contract id>/<token>.json      token = 000000000001, 000000000002, …

Each file is one holder's tenure: owner (host, boot id, pid, state folder, run id), acquisition
and expiry times (wall clock, TTL `GDX_LEASE_TTL_S`, default 90 s, renewed by a heartbeat thread
every TTL/3). The current lease is the file with the highest token; the token *is* the fencing
token, and it only grows.

* **acquire**: read the highest file; if there is none, or it is released, or expired — or its
  holder ran on this host from this state folder, whose flock we now hold, so it is dead — create
  the next token's file with an exclusive create: `link(2)` of a written temp file on a local or
  network filesystem (fails if the name exists, and the file appears whole), `PutObject` with
  `If-None-Match: *` on S3. Of two runs taking over the same stale lease only one can create
  token n+1; the other sees it and waits. After creating, the creator lists again and must be the
  highest (a creator stalled long enough for pruned names to be re-creatable loses here). A live
  lease held by another makes the run wait up to `lock_timeout_s`, then fail (`LeaseHeld`) naming
  the holder.
* **renew / release**: only the holder writes its own file: renewed (`os.replace`; on S3
  `If-Match: <its ETag>`) only while it is still the highest and not yet expired — a lease that
  expired is never revived, so a paused process that wakes up stays fenced. Release marks the file
  released (not deleted: the token count must survive).
* **fencing**: `DatasetLease.check` runs right before every lake write becomes visible (the
  rename, the PUT) and before every deletion (`Lake.fence`, recovery's orphan deletions
  included): the highest token must be ours, held by our run, and valid for at least TTL/4 more.
  Otherwise it raises `Fenced`, and the run stops without committing or deleting anything.

The remaining window, honestly: check-then-write is not atomic (POSIX has no conditional rename;
S3 has no multi-object condition). A write passes its check only with ≥ TTL/4 of lease left, and
nobody takes over before expiry, so the write is safe unless the process stalls for more than
TTL/4 (minus clock skew between hosts) between the check and the syscall — a SIGSTOP, a VM pause.
What such a stall can do is bounded: a bronze/quarantine file written late is an orphan without a
ledger entry (readers join the ledger; the next recovery deletes it), or it replaces a file of the
same name, which holds the same offsets. The ledger entry — the commit point — is created
exclusively (`Lake.write_parquet(exclusive=True)`: link / `If-None-Match: *`), so two writers can
never both commit a batch name; a late commit of a *different* cut of the same offsets would
overlap a committed range, which the ledger range checks of recovery refuse loudly. Clocks must
agree to well under TTL/4 (NTP gives milliseconds). S3 LIST must be strongly consistent (AWS S3
is since 2020; so is S3Proxy's filesystem store); on NFS the lease folder needs close-to-open
consistency without cached directory listings (`lookupcache=none`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gdx.ingest.locking import LockTimeout

if TYPE_CHECKING:
    from gdx.ingest.lakefs import Lake

log = logging.getLogger(__name__)

LEASES = "_leases"
DEFAULT_TTL_S = 90.0
KEEP_PREDECESSORS = 3
_TOKEN_FILE = re.compile(r"^([0-9]{12})\.json$")


class Fenced(RuntimeError):
    """This run lost its lease (another run took over): it must not commit or delete anything."""


class LeaseHeld(LockTimeout):
    """Another run holds the dataset's lake lease, and kept it longer than the timeout."""


def ttl_from_env() -> float:
    raw = os.environ.get("GDX_LEASE_TTL_S", "").strip()
    return float(raw) if raw else DEFAULT_TTL_S


def host_id() -> str:
    """This machine: host name + kernel boot id (a rebooted host is another host: its pids are new)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot = "?"
    return f"{socket.gethostname()}/{boot}"


@dataclass(frozen=True)
class Holder:
    """The contents of one lease file."""

    contract_id: str
    token: int
    run_id: str
    host: str
    pid: int
    state_dir: str
    acquired_at: float
    expires_at: float
    released: bool = False

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def parse(cls, data: bytes) -> Holder:
        return cls(**json.loads(data))

    def free(self, now: float) -> bool:
        return self.released or self.expires_at <= now

    def describe(self, now: float | None = None) -> str:
        now = time.time() if now is None else now
        state = "released" if self.released else f"expires in {self.expires_at - now:.0f} s"
        since = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(self.acquired_at))
        return (
            f"token {self.token}, run {self.run_id} (pid {self.pid} on {self.host.split('/')[0]}, "
            f"state {self.state_dir}) since {since} ({now - self.acquired_at:.0f} s ago), {state}"
        )


# -- storage: one folder of token files, local or S3 ------------------------------------------------
class _LocalStore:
    """Token files in a folder of a local or network filesystem."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.where = folder

    def _path(self, token: int) -> str:
        return f"{self.folder}/{token:012d}.json"

    def tokens(self) -> list[int]:
        try:
            names = os.listdir(self.folder)
        except FileNotFoundError:
            return []
        return sorted(int(m[1]) for n in names if (m := _TOKEN_FILE.match(n)))

    def read(self, token: int) -> tuple[Holder, str] | None:
        try:
            with open(self._path(token), "rb") as fh:
                data = fh.read()
        except FileNotFoundError:
            return None
        return Holder.parse(data), hashlib.sha256(data).hexdigest()

    def _temp(self, data: bytes) -> str:
        os.makedirs(self.folder, exist_ok=True)
        tmp = f"{self.folder}/.{uuid.uuid4().hex}.tmp"
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        return tmp

    def create(self, token: int, data: bytes) -> bool:
        from gdx.ingest.lakefs import fsync_dir

        tmp = self._temp(data)
        try:
            os.link(tmp, self._path(token))  # exclusive, and the file appears with its contents
        except FileExistsError:
            return False
        finally:
            os.unlink(tmp)
        fsync_dir(self.folder)
        return True

    def rewrite(self, token: int, data: bytes, version: str) -> bool:
        """Replace our own file. Only its holder ever writes it, so the version check (that it is
        still what we last read) guards against our own bugs, not against a race."""
        current = self.read(token)
        if current is None or current[1] != version:
            return False
        os.replace(self._temp(data), self._path(token))
        return True

    def delete(self, token: int) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(token))

    def remove_stale_temps(self, older_than_s: float = 600.0) -> None:
        """Temp files of creators that crashed before their link (a live creator's is seconds old)."""
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(self.folder):
                if entry.name.endswith(".tmp") and time.time() - entry.stat().st_mtime > older_than_s:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(entry.path)


_clients: dict[tuple[Any, ...], Any] = {}


def s3_client() -> Any:
    """A boto3 S3 client from the same standard AWS environment the lake's pyarrow filesystem
    uses (`gdx.ingest.lakefs._s3_filesystem`); one per process and endpoint (boto3 clients do not
    survive fork)."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None
    key = (os.getpid(), endpoint, region, os.environ.get("AWS_ACCESS_KEY_ID"))
    client = _clients.get(key)
    if client is None:
        import boto3
        from botocore.config import Config

        config = Config(
            s3={"addressing_style": "path"} if endpoint else {},
            retries={"max_attempts": 5, "mode": "standard"},
        )
        client = boto3.client("s3", endpoint_url=endpoint, region_name=region, config=config)
        _clients.clear()
        _clients[key] = client
    return client


def _precondition_failed(exc: Exception) -> bool:
    from botocore.exceptions import ClientError

    if not isinstance(exc, ClientError):
        return False
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return error.get("Code") in ("PreconditionFailed", "ConditionalRequestConflict") or status in (409, 412)


def s3_create_exclusive(path: str, data: bytes) -> bool:
    """PutObject `bucket/key` only if no object has that key (`If-None-Match: *`); False if one has."""
    bucket, _, key = path.partition("/")
    try:
        s3_client().put_object(Bucket=bucket, Key=key, Body=data, IfNoneMatch="*")
    except Exception as exc:
        if _precondition_failed(exc):
            return False
        # A failed PUT is an I/O failure of the lake like any other write's (pyarrow raises OSError):
        # callers and the CLI handle one kind, and botocore's message says what the server answered.
        raise OSError(f"PUT s3://{path} failed: {exc}") from exc
    return True


class _S3Store:
    """Token objects under `bucket/prefix/_leases/<id>/`."""

    def __init__(self, folder: str) -> None:
        self.bucket, _, prefix = folder.partition("/")
        self.prefix = prefix.rstrip("/") + "/"
        self.where = f"s3://{folder}"

    def _key(self, token: int) -> str:
        return f"{self.prefix}{token:012d}.json"

    def tokens(self) -> list[int]:
        out: list[int] = []
        for page in (
            s3_client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
        ):
            for obj in page.get("Contents", []):
                m = _TOKEN_FILE.match(obj["Key"][len(self.prefix) :])
                if m:
                    out.append(int(m[1]))
        return sorted(out)

    def read(self, token: int) -> tuple[Holder, str] | None:
        from botocore.exceptions import ClientError

        try:
            got = s3_client().get_object(Bucket=self.bucket, Key=self._key(token))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        return Holder.parse(got["Body"].read()), got["ETag"]

    def create(self, token: int, data: bytes) -> bool:
        return s3_create_exclusive(f"{self.bucket}/{self._key(token)}", data)

    def rewrite(self, token: int, data: bytes, version: str) -> bool:
        try:
            s3_client().put_object(Bucket=self.bucket, Key=self._key(token), Body=data, IfMatch=version)
        except Exception as exc:
            if _precondition_failed(exc):
                return False
            raise
        return True

    def delete(self, token: int) -> None:
        s3_client().delete_object(Bucket=self.bucket, Key=self._key(token))

    def remove_stale_temps(self) -> None:
        """Nothing to do: an S3 object appears whole or not at all."""


def _store(lake: Lake, contract_id: str) -> _LocalStore | _S3Store:
    folder = lake.abs(f"{LEASES}/{contract_id}")
    if lake.local:
        return _LocalStore(folder)
    if lake.fs.type_name == "s3":
        return _S3Store(folder)
    raise RuntimeError(
        f"the lake {lake.uri} is on a {lake.fs.type_name} filesystem, which offers no exclusive create: "
        "the dataset lease (one writer across hosts) needs a local/network folder or S3"
    )


# -- the lease --------------------------------------------------------------------------------------
class DatasetLease:
    """This run's lease on one dataset of the lake (see the module docstring)."""

    def __init__(self, lake: Lake, contract_id: str, state_dir: Path | str, ttl_s: float | None = None,
                 state_locked: bool = False) -> None:  # fmt: skip
        self.contract_id = contract_id
        self.store = _store(lake, contract_id)
        self.ttl_s = ttl_from_env() if ttl_s is None else ttl_s
        self.margin_s = self.ttl_s / 4
        self.state_dir = str(Path(state_dir).resolve())
        self.state_locked = state_locked
        """The caller holds this host's flock on `state_dir`: a lease of this host and state folder
        is then a dead run's, and is taken over at once instead of after its TTL."""
        self.run_id = uuid.uuid4().hex[:16]
        self.host = host_id()
        self.token = 0
        self._version = ""
        self._expires_at = 0.0
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None
        self.lost: str | None = None
        self.took_over: Holder | None = None
        """The stale lease this run took over, if it did (None: the lease was free or released)."""

    # acquisition -------------------------------------------------------------------------------
    def _dead_here(self, holder: Holder) -> bool:
        return self.state_locked and holder.host == self.host and holder.state_dir == self.state_dir

    def acquire(self, timeout_s: float) -> DatasetLease:
        deadline = time.monotonic() + timeout_s
        waited_on: Holder | None = None
        while True:
            tokens = self.store.tokens()
            top = tokens[-1] if tokens else 0
            current = self.store.read(top) if top else None
            if top and current is None:  # pruned between list and read: look again
                continue
            now = time.time()
            holder = current[0] if current else None
            if holder is None or holder.free(now) or self._dead_here(holder):
                if self._create(top + 1, now):
                    if holder is not None and not holder.released:
                        self.took_over = holder
                        log.warning("%s: took over the lake lease from %s (now token %d)",
                                    self.contract_id, holder.describe(now), self.token)  # fmt: skip
                    self._prune()
                    self._start_heartbeat()
                    return self
                continue  # another run created that token first: look again
            if waited_on is None or waited_on.token != holder.token:
                log.warning(
                    "%s: waiting for the lake lease held by %s (up to %.0f s)",
                    self.contract_id, holder.describe(now), timeout_s,
                )  # fmt: skip
                waited_on = holder
            if time.monotonic() >= deadline:
                raise LeaseHeld(
                    f"another ingestion of {self.contract_id} holds its lake lease {self.store.where} "
                    f"({holder.describe(now)}); waited {timeout_s:.0f} s. If that run is gone, the "
                    f"lease expires by itself within {self.ttl_s:.0f} s of its last renewal"
                )
            time.sleep(max(0.05, min(1.0, holder.expires_at - now + 0.05, deadline - time.monotonic())))

    def _create(self, token: int, now: float) -> bool:
        holder = Holder(self.contract_id, token, self.run_id, self.host, os.getpid(), self.state_dir,
                        acquired_at=now, expires_at=now + self.ttl_s)  # fmt: skip
        if not self.store.create(token, holder.to_bytes()):
            return False
        if self.store.tokens()[-1] != token:  # we re-created a pruned name below the current lease
            self.store.delete(token)
            return False
        got = self.store.read(token)
        if got is None or got[0].run_id != self.run_id:
            return False
        self.token, self._version, self._expires_at = token, got[1], holder.expires_at
        return True

    def _prune(self) -> None:
        for old in self.store.tokens():
            if old < self.token - KEEP_PREDECESSORS:
                self.store.delete(old)
        self.store.remove_stale_temps()

    # fencing -----------------------------------------------------------------------------------
    def check(self, action: str = "write", rel: str = "") -> None:
        """Raise `Fenced` unless this run still holds the lease, valid for at least TTL/4 more."""
        what = f"{action} {rel}".strip()
        tokens = self.store.tokens()
        top = tokens[-1] if tokens else 0
        current = self.store.read(self.token) if self.token else None
        now = time.time()
        reason = None
        if not self.token:
            reason = "this run holds no lease"
        elif top != self.token:
            other = self.store.read(top)
            reason = f"the lease was taken over ({other[0].describe(now) if other else f'token {top}'})"
        elif current is None or current[0].run_id != self.run_id:
            reason = f"lease file of token {self.token} is not this run's"
        elif current[0].released:
            reason = "the lease was released"
        elif current[0].expires_at - now < self.margin_s:
            reason = f"the lease expires in {current[0].expires_at - now:.1f} s (renewal stalled)"
        if reason is not None:
            raise Fenced(
                f"{self.contract_id}: run {self.run_id} (token {self.token}) is fenced — {reason}; "
                f"refusing to {what}. Nothing more is committed or deleted by this run; the holder "
                "of the lease continues from the ledger"
            )

    def renew(self) -> bool:
        """Extend the lease by a TTL if still ours and not yet expired; False (and `lost` set) if not."""
        if self.lost:
            return False
        now = time.time()
        tokens = self.store.tokens()
        current = self.store.read(self.token)
        if not tokens or tokens[-1] != self.token or current is None or current[0].run_id != self.run_id:
            self.lost = "taken over"
        elif current[0].free(now):  # an expired lease is never revived: someone may be taking it over
            self.lost = f"expired {now - current[0].expires_at:.1f} s ago before it could be renewed"
        else:
            renewed = replace(current[0], expires_at=now + self.ttl_s)
            if self.store.rewrite(self.token, renewed.to_bytes(), current[1]):
                got = self.store.read(self.token)
                self._version = got[1] if got else ""
                self._expires_at = renewed.expires_at
                return True
            self.lost = "its file changed under us"
        log.error("%s: lost the lake lease (token %d): %s", self.contract_id, self.token, self.lost)
        return False

    def _start_heartbeat(self) -> None:
        self._stop.clear()
        self._heartbeat = threading.Thread(
            target=self._beat, name=f"gdx-lease-{self.contract_id}", daemon=True
        )
        self._heartbeat.start()

    def _beat(self) -> None:
        while not self._stop.wait(self.ttl_s / 3):
            try:
                if not self.renew():
                    return
            except Exception as exc:  # a failed renewal is retried; the checks stop writes if it stays failed
                log.warning("%s: lease renewal failed (%s); retrying", self.contract_id, exc)

    def release(self) -> None:
        """Mark the lease released, if it is still ours (S3: conditional on our ETag)."""
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join(5)
        if not self.token:
            return
        tokens = self.store.tokens()
        current = self.store.read(self.token)
        if tokens and tokens[-1] == self.token and current is not None and current[0].run_id == self.run_id:
            done = replace(current[0], released=True, expires_at=time.time())
            self.store.rewrite(self.token, done.to_bytes(), current[1])


@contextlib.contextmanager
def dataset_guard(lake: Lake, state_dir: Path, contract_id: str, timeout_s: float) -> Iterator[DatasetLease]:
    """This host's flock on the state folder, then the lake lease, fencing every write and deletion
    of `lake` until the block ends.

    The flock stays: it makes a second copy on the same host wait cheaply (no lake polling), and
    because the kernel drops it when its holder dies, holding it proves that a lease left by this
    host and state folder belongs to a dead run — taken over at once, not after its TTL (a crash
    followed by a retry on the same worker does not wait)."""
    from gdx.ingest.locking import dataset_lock

    with dataset_lock(state_dir, contract_id, timeout_s):
        lease = DatasetLease(lake, contract_id, state_dir, state_locked=True).acquire(timeout_s)
        lake.fence = lease.check
        try:
            yield lease
        finally:
            lake.fence = None
            lease.release()
