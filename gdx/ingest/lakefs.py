"""The lake as a `pyarrow.fs` filesystem: a local folder or `s3://bucket/prefix`.

Durable, atomic Parquet writes — the landing protocol's building block:

* local: write `.<name>.<pid>.tmp` in the target folder, flush + fsync, `os.replace` onto the
  final name, fsync the folder. A reader (or a crash) sees the old file or the new one, never half.
  Temp names start with "." and end in ".tmp", so Hive-style readers and `*.parquet` globs skip them.
* S3 (or any non-local pyarrow filesystem): an object becomes visible only when its upload
  completes, so the file is written straight to its final key; there is no rename (S3 "rename" is
  copy + delete and not atomic). One writer per dataset, on any host, is the lake lease's job
  (`gdx.ingest.lease`): while a run holds it, `Lake.fence` checks its fencing token before every
  write becomes visible and before every deletion.
  A PUT that fails leaves no object (S3 publishes an object only when its
  upload completes, and pyarrow aborts a failed multipart upload), so a failed write is never
  half-visible; what the batch wrote before it stays an orphan without a ledger entry, which the
  next run's recovery deletes. (pyarrow uploads in multipart form; the parts of an upload killed
  mid-way are invisible too, but S3 bills them until a bucket lifecycle rule
  `AbortIncompleteMultipartUpload` removes them: set one on a production bucket.)

An S3 lake is configured by the standard AWS variables only (`_s3_filesystem`): the endpoint of
an S3-compatible server (MinIO, Ceph, S3Proxy; the tests run against S3Proxy) in
`AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`, the keys in `AWS_ACCESS_KEY_ID` /
`AWS_SECRET_ACCESS_KEY` (or any other source the AWS SDK knows: profile, instance role), the region
in `AWS_REGION`. Keys are never copied into GDX's own settings, so they cannot reach a log or repr.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gdx.ingest.faults import fault

if TYPE_CHECKING:
    from collections.abc import Callable

    import pyarrow as pa
    import pyarrow.fs as pafs


@dataclass(frozen=True)
class LakeFile:
    path: str  # relative to the lake root, "/"-separated
    size: int


class Lake:
    """Relative-path access to the lake root, whatever filesystem it is on."""

    fence: Callable[[str, str], None] | None = None
    """Called as `fence(action, rel)` right before a write becomes visible or a file is deleted;
    raises to refuse it. Set while a run holds the dataset's lake lease (`gdx.ingest.lease`)."""

    def __init__(self, root: str) -> None:
        import pyarrow.fs as pafs

        self.uri = root
        if root.startswith("s3://"):
            fs, base = _s3_filesystem(), root.removeprefix("s3://")
            if not base.split("/", 1)[0]:
                raise ValueError(f"GDX_LAKE_ROOT={root!r} names no bucket: use s3://<bucket>/<prefix>")
            self.local = False
        elif "://" in root and not root.startswith("file://"):
            fs, base = pafs.FileSystem.from_uri(root)
            self.local = False
        else:
            fs = pafs.LocalFileSystem()
            base = os.path.abspath(root.removeprefix("file://"))
            self.local = True
        self.fs: pafs.FileSystem = fs
        self.base = base.rstrip("/")

    @classmethod
    def on(cls, fs: pafs.FileSystem, base: str, local: bool = False) -> Lake:
        """A lake on an explicit pyarrow filesystem (tests: `pyarrow.fs._MockFileSystem`)."""
        lake = cls.__new__(cls)
        lake.uri, lake.fs, lake.base, lake.local = f"{fs.type_name}://{base}", fs, base.rstrip("/"), local
        return lake

    def abs(self, rel: str) -> str:
        return f"{self.base}/{rel}" if rel else self.base

    def rel(self, absolute: str) -> str:
        return absolute[len(self.base) + 1 :] if absolute.startswith(self.base + "/") else absolute

    # -- reads --------------------------------------------------------------------------------
    def check_readable(self) -> None:
        """OSError unless an object-store lake's bucket exists and admits us. Listing a missing
        bucket answers "no files", which a reader must not mistake for an empty lake; a local
        folder that does not exist yet is a lake where nothing has landed."""
        import pyarrow.fs as pafs

        if self.local:
            return
        bucket = self.base.split("/", 1)[0]
        if self.fs.get_file_info(bucket).type != pafs.FileType.Directory:
            raise FileNotFoundError(f"the lake's bucket {bucket!r} does not exist ({self.uri})")

    def exists(self, rel: str) -> bool:
        import pyarrow.fs as pafs

        return self.fs.get_file_info(self.abs(rel)).type == pafs.FileType.File

    def list(self, rel_dir: str, recursive: bool = True) -> list[LakeFile]:
        """Files under a folder (none if it does not exist), temp files included."""
        import pyarrow.fs as pafs

        selector = pafs.FileSelector(self.abs(rel_dir), recursive=recursive, allow_not_found=True)
        return sorted(
            (LakeFile(self.rel(info.path), info.size or 0) for info in self.fs.get_file_info(selector)
             if info.type == pafs.FileType.File),
            key=lambda f: f.path,
        )  # fmt: skip

    def read_parquet(self, rel: str) -> pa.Table:
        import pyarrow.parquet as pq

        return pq.read_table(self.abs(rel), filesystem=self.fs)

    # -- writes -------------------------------------------------------------------------------
    def delete(self, rel: str) -> None:
        if self.fence is not None:
            self.fence("delete", rel)
        try:
            self.fs.delete_file(self.abs(rel))
        except FileNotFoundError:
            pass

    def write_parquet(self, rel: str, table: pa.Table, zstd_level: int = 3, exclusive: bool = False) -> None:
        """Durably and atomically write `table` at `rel` (replacing any file there).

        `exclusive` (a commit point: the ledger): never replace; if `rel` exists, raise
        `gdx.ingest.lease.Fenced` — another run committed it. Local: `link` instead of `rename`
        (fails if the name exists); S3: a PutObject with `If-None-Match: *`."""
        import pyarrow.parquet as pq

        target = self.abs(rel)
        folder, name = target.rsplit("/", 1)
        if not self.local:
            if self.fence is not None:
                self.fence("write", rel)
            if exclusive and self.fs.type_name == "s3":
                from gdx.ingest.lease import s3_create_exclusive

                sink = pa_buffer()
                pq.write_table(table, sink, compression="zstd", compression_level=zstd_level)
                fault("after_temp_write")
                if not s3_create_exclusive(target, sink.getvalue().to_pybytes()):
                    _already_committed(rel)
                fault("after_rename")
                return
            if exclusive and self.exists(rel):  # no conditional create on this filesystem: best effort
                _already_committed(rel)
            if self.fs.type_name != "s3":  # S3 folders are virtual: a marker object would be one more PUT
                self.fs.create_dir(folder, recursive=True)
            with self.fs.open_output_stream(target) as out:
                pq.write_table(table, out, compression="zstd", compression_level=zstd_level)
            fault("after_temp_write")
            fault("after_rename")
            return
        os.makedirs(folder, exist_ok=True)
        tmp = f"{folder}/.{name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
        try:
            with open(tmp, "wb") as fh:
                pq.write_table(table, fh, compression="zstd", compression_level=zstd_level)
                fh.flush()
                os.fsync(fh.fileno())
            fault("after_temp_write")
            if self.fence is not None:
                self.fence("write", rel)
            if exclusive:
                try:
                    os.link(tmp, target)
                except FileExistsError:
                    _already_committed(rel)
                os.unlink(tmp)
            else:
                os.replace(tmp, target)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        fsync_dir(folder)
        fault("after_rename")

    def remove_temp_files(self, rel_dir: str) -> int:
        """Delete temp files left by a crash under `rel_dir`; returns how many."""
        n = 0
        for f in self.list(rel_dir):
            if f.path.rsplit("/", 1)[-1].startswith(".") and f.path.endswith(".tmp"):
                self.delete(f.path)
                n += 1
        return n


def pa_buffer() -> pa.BufferOutputStream:
    import pyarrow as pa

    return pa.BufferOutputStream()


def _already_committed(rel: str) -> None:
    from gdx.ingest.lease import Fenced

    raise Fenced(
        f"{rel} already exists: another run committed this batch; this run stops without touching it"
    )


def fsync_dir(folder: str) -> None:
    """Make a rename or link in `folder` durable: it is only once the directory entry is on disk."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _s3_filesystem() -> pafs.S3FileSystem:
    """pyarrow's S3 client from the standard AWS environment (see the module docstring).

    The endpoint is passed explicitly rather than left to the AWS SDK: `endpoint_override` takes
    host[:port] and the scheme separately, and path-style addressing (pyarrow's default with an
    override) is what S3-compatible servers on a plain host name need."""
    import pyarrow.fs as pafs

    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None
    options: dict[str, str] = {}
    if endpoint:
        scheme, _, host = endpoint.rstrip("/").rpartition("://")
        options = {"endpoint_override": host, "scheme": scheme or "https"}
    return pafs.S3FileSystem(region=region, **options)


def lake_from_settings() -> Lake:
    from gdx.settings import Settings

    return Lake(Settings.from_env().lake_root)


def new_id() -> str:
    return uuid.uuid4().hex
