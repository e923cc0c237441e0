"""DuckDB reading an S3 lake: the lake's own pyarrow S3 client, handed to DuckDB through fsspec.

dbt's sources read `read_parquet('<GDX_LAKE_ROOT>/bronze/…')`. For `s3://` DuckDB would load its
httpfs extension, which it downloads from DuckDB's extension site at run time; that site is not
reachable from the machines GDX runs on, and no package on PyPI ships httpfs for the DuckDB we pin
(`duckdb-extension-httpfs` stops at 1.5.x, DuckDB is 2.0). `s3fs` is no way out either: its
aiobotocore pins an older botocore than the boto3 the lake lease needs. What does work offline is
DuckDB's fsspec bridge (`register_filesystem`) over fsspec's wrapper of a pyarrow filesystem: the
same `pyarrow.fs.S3FileSystem` the engine lands with (`gdx.ingest.lakefs._s3_filesystem`, same
endpoint, keys and region from the AWS variables), so dbt and ingestion can never disagree about
where the lake is. Globs, Hive partitions and ranged Parquet reads all go through it.

dbt-duckdb loads this module as a plugin (profiles.yml `plugins:`) and calls `configure_connection`
on every connection it opens; for a local lake it does nothing.
"""

from __future__ import annotations

import os
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin
from fsspec.implementations.arrow import ArrowFSWrapper


class _S3Lake(ArrowFSWrapper):
    protocol = ("s3", "s3a")  # the prefixes DuckDB routes to this filesystem


def attach_lake(con: Any, lake_root: str | None = None) -> bool:
    """Let DuckDB connection `con` read `s3://` paths through the lake's S3 client; True if it did
    (an S3 lake), False for a local lake (DuckDB reads those itself)."""
    from gdx.ingest.lakefs import _s3_filesystem

    lake_root = lake_root if lake_root is not None else os.environ.get("GDX_LAKE_ROOT", "")
    if not lake_root.startswith("s3://"):
        return False
    con.register_filesystem(_S3Lake(_s3_filesystem()))
    return True


class Plugin(BasePlugin):
    """dbt-duckdb plugin: every connection dbt opens can read the lake."""

    def configure_connection(self, conn: Any) -> None:
        attach_lake(conn)
