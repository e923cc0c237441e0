"""Lake paths of docs/conventions.md ("Lake"), relative to `GDX_LAKE_ROOT`, and their parsing.

A batch is one contiguous offset range of one partition, and every file it writes is named by
that range: `<topic>+<partition>+<first>-<last>.parquet`. The name is the batch id, the key of its
ledger entry and what recovery matches orphans by.

A topic deleted and recreated under the same name restarts its offsets at 0. After
`gdx ingest --new-topic-generation` (`gdx.ingest.resolutions`) the batches of generation k ≥ 1 are
named `<topic>+g<k>+<partition>+<first>-<last>`, so they never collide with the files of the
earlier topic; names without `+g<k>` are generation 0 (every lake written before generations).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from gdx.contracts.model import Contract

BANGKOK = ZoneInfo("Asia/Bangkok")
_NAME = re.compile(r"^(?P<topic>[A-Za-z0-9._-]+)\+(?:g(?P<generation>[0-9]+)\+)?(?P<partition>[0-9]+)\+(?P<first>[0-9]+)-(?P<last>[0-9]+)(?P<suffix>\.[A-Za-z0-9._-]+)?\.parquet$")


@dataclass(frozen=True, order=True)
class BatchName:
    """`<topic>[+g<generation>]+<partition>+<first>-<last>[.<suffix>]`: what a batch file is called."""

    topic: str
    partition: int
    first: int
    last: int
    suffix: str = ""
    generation: int = 0
    """The topic generation (0: the first topic of this name; see the module docstring)."""

    @property
    def stem(self) -> str:
        gen = f"+g{self.generation}" if self.generation else ""
        return f"{self.topic}{gen}+{self.partition}+{self.first}-{self.last}{self.suffix}"

    @property
    def file_name(self) -> str:
        return f"{self.stem}.parquet"

    @classmethod
    def parse(cls, name: str) -> BatchName | None:
        m = _NAME.match(name.rsplit("/", 1)[-1])
        if m is None:
            return None
        return cls(
            m["topic"], int(m["partition"]), int(m["first"]), int(m["last"]), m["suffix"] or "", int(m["generation"] or 0)
        )


def ingest_date(kafka_timestamp_ms: int) -> str:
    """Asia/Bangkok date of a Kafka record timestamp: the partition a batch lands in (record time,
    never wall clock, so re-processing a range rewrites the same file)."""
    return datetime.fromtimestamp(kafka_timestamp_ms / 1000, UTC).astimezone(BANGKOK).date().isoformat()


def _dataset_dir(zone: str, contract: Contract) -> str:
    return f"{zone}/{contract.agency}/{contract.dataset}/v{contract.major}"


def bronze_root(contract: Contract) -> str:
    return _dataset_dir("bronze", contract)


def quarantine_root(contract: Contract) -> str:
    return _dataset_dir("quarantine", contract)


def bronze_path(contract: Contract, day: str, name: BatchName) -> str:
    return f"{bronze_root(contract)}/ingest_date={day}/{name.file_name}"


def quarantine_path(contract: Contract, day: str, name: BatchName) -> str:
    return f"{quarantine_root(contract)}/ingest_date={day}/{name.file_name}"


def ledger_root(contract: Contract) -> str:
    return f"ledger/{contract.agency}/{contract.dataset}"


def ledger_path(contract: Contract, name: BatchName) -> str:
    return f"{ledger_root(contract)}/{name.file_name}"


def replay_ledger_root(contract: Contract) -> str:
    return f"{ledger_root(contract)}/_replay"


def replay_ledger_path(contract: Contract, name: BatchName) -> str:
    return f"{replay_ledger_root(contract)}/{name.file_name}"


def resolutions_root(contract: Contract) -> str:
    return f"{ledger_root(contract)}/_resolutions"


def day_of(path: str) -> str | None:
    """The `ingest_date=` of a bronze/quarantine path."""
    m = re.search(r"/ingest_date=([0-9]{4}-[0-9]{2}-[0-9]{2})/", path)
    return m.group(1) if m else None
