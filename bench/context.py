"""Shared state of one benchmark run: options, scratch folder, broker, the inputs (built lazily).

Every input is built on first use and kept for the stages after it, so `--stages consume` does not
generate the agency source file and `--stages dbt` never starts a broker.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from bench.model import Run


@dataclass
class Options:
    records: int = 1_000_000
    repeats: int = 3
    stages: tuple[str, ...] = ()
    bad_ratio: float = 0.01
    seed: int = 20240301
    naive_records: int = 100_000
    skip_10m: bool = False
    big_rows: int = 10_000_000
    latency_rounds: int = 3
    quick: bool = False
    keep_workdir: bool = False
    scale_n: tuple[int, ...] = ()
    """Stage scale: dataset counts to build a scale world for (empty: the stage's defaults)."""
    scale_areas: tuple[str, ...] = ()
    """Stage scale: the areas to measure (empty: every `bench/scale_<area>.py`)."""


@dataclass
class Context:
    options: Options
    workdir: Path
    run: Run
    console: Console
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    _broker: Any = None
    _contract: Any = None
    _wire: Any = None
    _source: tuple[Path, Any] | None = None
    cache: dict[str, Any] = field(default_factory=dict)

    # -- inputs ----------------------------------------------------------------------------
    @property
    def contract(self) -> Any:
        if self._contract is None:
            from bench.data import CONTRACT_ID
            from gdx.contracts.model import get_contract

            self._contract = get_contract(CONTRACT_ID)
        return self._contract

    @property
    def kafka(self) -> Any:
        """gdx-admin's connection (SASL_SSL) to a throwaway secure local broker under the scratch
        folder (started on first use). The bench's own topics belong to no contract, so only the
        super user may use them."""
        if self._broker is None:
            from gdx.kafka_local import throwaway_broker

            started = time.perf_counter()
            self.log("starting a throwaway Kafka broker …")
            home = self.workdir / "kafka"
            home.mkdir(parents=True, exist_ok=True)
            self._broker = self._stack.enter_context(throwaway_broker(home))
            self.run.setup["broker_start_s"] = round(time.perf_counter() - started, 2)
        return self._broker.connection("gdx-admin")

    @property
    def kafka_client_config(self) -> str:
        """The client-config file of `kafka` (for child processes: GDX_KAFKA_CLIENT_CONFIG)."""
        self.kafka  # noqa: B018 - starts the broker
        return str(self._broker.clients_dir / "gdx-admin.properties")

    @property
    def wire(self) -> Any:
        """The wire dataset (records + planted bad ones), not yet on a topic."""
        if self._wire is None:
            from bench.data import build_wire_dataset

            o = self.options
            self.log(f"encoding {o.records:,} wire records ({o.bad_ratio:.1%} corrupted) …")
            started = time.perf_counter()
            self._wire = build_wire_dataset(o.records, o.bad_ratio, o.seed, self.contract)
            self.run.setup["wire_dataset"] = {
                "records": self._wire.n,
                "bad": self._wire.n_bad,
                "bad_kinds": self._wire.kinds(),
                "mean_value_bytes": round(self._wire.mean_value_bytes, 1),
                "build_s": round(time.perf_counter() - started, 2),
            }
        return self._wire

    @property
    def loaded_wire(self) -> Any:
        """The wire dataset published as-is to the contract's topic (what ingestion reads)."""
        ds = self.wire
        if not ds.positions:
            from bench.data import load_topic

            self.log(f"loading {ds.n:,} records into {self.contract.topic} …")
            seconds = load_topic(ds, self.kafka, self.contract.topic)
            self.run.setup["topic_load"] = {"topic": ds.topic, "seconds": round(seconds, 2)}
        return ds

    @property
    def source(self) -> tuple[Path, Any]:
        """(Air4Thai history file, its ground truth) for `gdx produce`."""
        if self._source is None:
            from bench.data import source_file

            o = self.options
            self.log(f"generating the Air4Thai source file ({o.records:,} records) …")
            started = time.perf_counter()
            self._source = source_file(self.workdir, o.records, o.bad_ratio, o.seed)
            path, truth = self._source
            self.run.setup["source_file"] = {
                "path": path.name,
                "bytes": path.stat().st_size,
                "records": truth.records,
                "bad": len(truth.bad),
                "bad_kinds": dict(sorted(truth.kinds().items())),
                "build_s": round(time.perf_counter() - started, 2),
            }
        return self._source

    # -- misc --------------------------------------------------------------------------------
    def log(self, text: str) -> None:
        self.console.log(text)

    def subdir(self, *parts: str) -> Path:
        path = self.workdir.joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def close(self) -> None:
        self._stack.close()
