"""The landing gate: the contract's Great Expectations 1.x suite, cross-checked row by row.

GX decides: it runs the contract's suite (`to_gx_suite`, built into a live suite at run time) on
the typed candidate rows — the records that decoded cleanly — as a pandas frame whose index is
(`_kafka_partition`, `_kafka_offset`), with result format COMPLETE, `unexpected_index_column_names`
= that index and `exclude_unexpected_values`, so every failing row is identified by its Kafka
coordinates and no value (personal data included) enters a result. The `_rule_*` columns GX
asserts are computed first (`gdx.ingest.rules`).

Before trusting GX, the gate compares each expectation's unexpected rows, count and success with
an independent pyarrow prediction (`gdx.ingest.predict`). A row flagged by only one side is *in
dispute*: it is quarantined under `gate.disagreement` (`DISAGREEMENT`) with both verdicts in the
reason, the other rows land, and the run is marked for attention (an ERROR log line per batch,
`rows_disputed` in the ledger, `gdx status` non-zero). A disagreement that names no rows — GX
counts unexpected rows without identifying them, returns no result for a check, or reports
another success flag or count for the same rows — disputes every candidate row of the batch for
that check: the gate cannot tell which rows it concerns, landing any of them would trust a verdict
that failed its cross-check, and raising would fail the same batch on every retry (the dataset
blocked for good). Quarantined, they are kept and replayable (`gdx replay --from-quarantine`)
once the gate is fixed. GX *raising* stays a `GateError` (nothing lands: it is not a verdict).
Results are reduced to statistics (`CheckStat`) before anything is logged or stored.

Frame dtypes are chosen for GX's vectorised pandas paths: strings as pandas' Arrow-backed `str`,
numbers as float64/int64 (nullable extension dtypes send GX's between-check through a per-value
Python map, 6x slower), timestamps tz-aware datetime64, dates python `date` objects (GX parses a
bound like "2015-01-01" into a `date`, which pandas cannot compare with datetime64).

The suite's primary-key uniqueness expectation is left out unless `enforce_key_uniqueness`:
bronze is an event log in which a later event revises an earlier one with the same key (a case
moving registered → settled); key uniqueness holds for the latest state, which dbt models test.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gdx.ingest.model import Failure
from gdx.ingest.predict import SUPPORTED, UnsupportedExpectation, predict

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from gdx.contracts.model import Contract

log = logging.getLogger(__name__)

INDEX = ["_kafka_partition", "_kafka_offset"]
RESULT_FORMAT = {
    "result_format": "COMPLETE",
    "unexpected_index_column_names": INDEX,
    "exclude_unexpected_values": True,
    "return_unexpected_index_query": False,
    "partial_unexpected_count": 0,
    "include_unexpected_rows": False,
}
KEY_UNIQUE_CHECK = "primary_key.unique"


class GateError(RuntimeError):
    """The gate could not decide (GX raised, or the suite cannot be cross-checked)."""


DISAGREEMENT = "gate.disagreement"
"""Rule id of rows whose GX verdict and independent prediction differ (quarantined for review)."""


def _verdict(failed: bool) -> str:
    return "fail" if failed else "pass"


@dataclass(frozen=True)
class CheckStat:
    """What is kept of one expectation's result: statistics only, never values."""

    check: str
    expectation: str
    column: str | None
    success: bool
    element_count: int
    unexpected_count: int

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass
class GateResult:
    failures: dict[int, Failure] = field(default_factory=dict)
    """Candidate row position → first failing expectation (suite order)."""
    extra: dict[int, int] = field(default_factory=dict)
    checks: list[CheckStat] = field(default_factory=list)
    success: bool = True
    evaluated: int = 0
    successful: int = 0
    ran: bool = False
    duration_s: float = 0.0
    disputed: int = 0
    """Rows quarantined under `gate.disagreement` (distinct rows)."""
    disputes: list[str] = field(default_factory=list)
    """One line per disputed check: what GX and the prediction said (no values)."""


_GX: dict[str, Any] = {}


def _import_gx() -> Any:
    """great_expectations, imported lazily (~5 s) and quietened: GX draws a tqdm progress bar on
    every validation, logs INFO chatter and may try to send usage statistics — none of which
    belongs in a task log of an offline pipeline."""
    if "gx" not in _GX:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        os.environ.setdefault("TQDM_DISABLE", "1")
        import functools

        logging.getLogger("great_expectations").setLevel(logging.WARNING)  # before import: its import logs
        import great_expectations as gx
        import great_expectations.validator.validation_graph as graph

        bar = graph.tqdm
        graph.tqdm = functools.wraps(bar)(lambda *args, **kwargs: bar(*args, **{**kwargs, "disable": True}))
        for name in [n for n in logging.root.manager.loggerDict if n.startswith("great_expectations")]:
            logging.getLogger(name).setLevel(logging.WARNING)
        logging.getLogger("great_expectations").setLevel(logging.WARNING)
        _GX["gx"] = gx
        # GX's ~1M import-time objects never die: keep them out of every later GC pass.
        import gc

        gc.collect()
        gc.freeze()
    return _GX["gx"]


def _gx_context() -> tuple[Any, Any]:
    """One ephemeral GX context + pandas datasource per process (building them costs ~0.1 s)."""
    if "context" not in _GX:
        gx = _import_gx()
        context = gx.get_context(mode="ephemeral")
        _GX["context"] = context
        _GX["datasource"] = context.data_sources.add_pandas("gdx_ingest")
        _GX["definitions"] = {}
    return _GX["context"], _GX["datasource"]


def _batch_definition(name: str) -> Any:
    _, datasource = _gx_context()
    definitions = _GX["definitions"]
    if name not in definitions:
        asset = datasource.add_dataframe_asset(name)
        definitions[name] = asset.add_batch_definition_whole_dataframe("batch")
    return definitions[name]


class Gate:
    """Runs one contract's suite on typed batches; build once per run."""

    def __init__(self, contract: Contract, enforce_key_uniqueness: bool = False) -> None:
        from gdx.contracts.exporters import to_gx_suite

        suite = to_gx_suite(contract)
        self.contract = contract
        self.suite_name = suite["name"]
        self.expectations = [
            e for e in suite["expectations"]
            if enforce_key_uniqueness or e.get("meta", {}).get("gdx_check") != KEY_UNIQUE_CHECK
        ]  # fmt: skip
        self.skipped = [e["meta"]["gdx_check"] for e in suite["expectations"] if e not in self.expectations]
        unsupported = sorted({e["type"] for e in self.expectations} - SUPPORTED)
        if unsupported:
            raise UnsupportedExpectation(
                f"{contract.id}: the gate cannot cross-check {', '.join(unsupported)}; add it to gdx.ingest.predict"
            )
        self.checks = [e["meta"]["gdx_check"] for e in self.expectations]
        if len(set(self.checks)) != len(self.checks):
            raise GateError(f"{contract.id}: suite has duplicate meta.gdx_check ids")
        self._suite: Any = None

    def _live_suite(self) -> Any:
        if self._suite is None:
            gx = _import_gx()
            _gx_context()
            self._suite = gx.ExpectationSuite(name=self.suite_name, expectations=[dict(e) for e in self.expectations])
        return self._suite

    def frame(self, table: pa.Table, partitions: np.ndarray, offsets: np.ndarray) -> pd.DataFrame:
        """The pandas frame GX validates (see module docstring for the dtypes)."""
        import pandas as pd
        import pyarrow.types as pt

        data: dict[str, Any] = {}
        for name in table.column_names:
            col = table.column(name)
            # Dates stay python `date` objects (object dtype): GX turns an ISO-date bound into a
            # `date`, which pandas cannot compare with datetime64. (GX's per-value path: slower.)
            data[name] = col.to_pandas(date_as_object=True) if pt.is_date(col.type) else col.to_pandas()
        df = pd.DataFrame(data)
        df.index = pd.MultiIndex.from_arrays([partitions, offsets], names=INDEX)
        return df

    def run(self, table: pa.Table, partitions: np.ndarray, offsets: np.ndarray) -> GateResult:
        """Validate `table` (candidate rows + `_rule_*` columns) whose rows sit at those offsets."""
        import numpy as np

        started = time.perf_counter()
        result = GateResult()
        n = table.num_rows
        if n == 0:
            return result
        predictions = {e["meta"]["gdx_check"]: predict(e, table) for e in self.expectations}
        df = self.frame(table, partitions, offsets)
        batch = _batch_definition(self.suite_name).get_batch(batch_parameters={"dataframe": df})
        validation = batch.validate(self._live_suite(), result_format=RESULT_FORMAT)
        del df, batch
        result.ran = True
        seen: set[str] = set()
        by_check = {e["meta"]["gdx_check"]: e for e in self.expectations}
        gx_failing: dict[str, np.ndarray] = {}
        disputed: dict[str, dict[int, str]] = {}  # check → candidate position → reason
        for r in validation.results:
            meta = r.expectation_config.meta or {}
            check = meta.get("gdx_check")
            if check not in by_check:
                raise GateError(f"GX returned a result for an expectation the gate did not send ({check!r})")
            seen.add(check)
            exc = r.exception_info or {}
            if any(isinstance(v, dict) and v.get("raised_exception") for v in exc.values()) or exc.get("raised_exception"):
                message = next((str(v.get("exception_message")) for v in [exc, *exc.values()] if isinstance(v, dict) and v.get("exception_message")), "")
                raise GateError(
                    f"{self.contract.id}: GX raised while evaluating {check} ({r.expectation_config.type}): {message[:300]}"
                )
            res = r.result or {}
            rows = _index_rows(res.get("unexpected_index_list"))
            pred = predictions[check]
            pred_idx = np.flatnonzero(pred.unexpected)
            count = res.get("unexpected_count")
            gx_failing[check] = pred_idx
            if "unexpected_index_list" not in res and count:
                whole = f"GX reported {count} unexpected rows without identifying them, prediction flags {len(pred_idx)}"
            else:
                whole = None
                pred_rows = set(zip(partitions[pred_idx].tolist(), offsets[pred_idx].tolist(), strict=True))
                if rows != pred_rows:
                    # flagged by both: agreed failures; flagged by one side only: in dispute
                    both = np.asarray(sorted(_positions(partitions, offsets, rows & pred_rows).values()), dtype=np.int64)
                    gx_failing[check] = both
                    only_gx = _positions(partitions, offsets, rows - pred_rows)
                    only_pred = _positions(partitions, offsets, pred_rows - rows)
                    verdicts = dict.fromkeys(only_gx.values(), _dispute_reason(check, gx_fail=True))
                    verdicts.update(dict.fromkeys(only_pred.values(), _dispute_reason(check, gx_fail=False)))
                    unknown = len(rows - pred_rows) - len(only_gx)
                    if unknown:  # GX named coordinates that are not in the batch: nothing to match
                        whole = f"GX flags {unknown} row(s) at coordinates not in the batch"
                    else:
                        disputed[check] = verdicts
                        result.disputes.append(
                            f"{check}: GX flags {len(rows)} rows, prediction {len(pred_rows)}; only GX "
                            f"(partition, offset): {sorted(rows - pred_rows)[:5]}; only predicted: {sorted(pred_rows - rows)[:5]}"
                        )
                elif count is not None and count != len(rows):
                    whole = f"GX unexpected_count {count} != {len(rows)} identified rows (prediction agrees on the rows)"
                elif bool(r.success) != pred.success:
                    whole = f"GX success={r.success}, prediction success={pred.success} (same {len(rows)} rows flagged)"
            if whole is not None:
                disputed[check] = dict.fromkeys(range(n), _whole_reason(check, whole))
                result.disputes.append(f"{check}: {whole} — every candidate row of the batch is held")
            result.checks.append(
                CheckStat(
                    check=check,
                    expectation=r.expectation_config.type,
                    column=meta.get("column"),
                    success=bool(r.success),
                    element_count=int(res.get("element_count") or n),
                    unexpected_count=int(count or 0),
                )
            )
        for check in sorted(set(by_check) - seen, key=self.checks.index):
            whole = "GX returned no result for this check"
            disputed[check] = dict.fromkeys(range(n), _whole_reason(check, whole))
            result.disputes.append(f"{check}: {whole} — every candidate row of the batch is held")
        stats = validation.statistics
        result.success = bool(validation.success) and not disputed
        result.evaluated = int(stats.get("evaluated_expectations", 0))
        result.successful = int(stats.get("successful_expectations", 0))
        # A dispute comes first (it is what an operator must look at), then the first failing
        # expectation per row in suite order; the others are counted in `extra`.
        for check in self.checks:
            e = by_check[check]
            for pos, reason in disputed.get(check, {}).items():
                _put(result, pos, Failure(DISAGREEMENT, e["meta"].get("column"), reason, stage="gate"))
        result.disputed = len(result.failures)
        for check in self.checks:
            idx = gx_failing.get(check)
            if idx is None or not len(idx):
                continue
            e = by_check[check]
            failure = Failure(check, e["meta"].get("column"), e.get("description") or check, stage="gate")
            for i in idx.tolist():
                _put(result, i, failure)
        if result.disputes:
            log.error(
                "%s: Great Expectations and the independent prediction disagree on %d row(s) of this batch: "
                "quarantined as %s for review (the others land). %s. Fix the gate or the predictor, then "
                "`gdx replay %s --from-quarantine`.",
                self.contract.id, result.disputed, DISAGREEMENT, "; ".join(result.disputes)[:2000], self.contract.id,
            )  # fmt: skip
        result.duration_s = time.perf_counter() - started
        return result


def _put(result: GateResult, pos: int, failure: Failure) -> None:
    if pos in result.failures:
        result.extra[pos] = result.extra.get(pos, 0) + 1
    else:
        result.failures[pos] = failure


def _positions(partitions: np.ndarray, offsets: np.ndarray, rows: set[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """Candidate position of each (partition, offset) in `rows` that is in the batch."""
    if not rows:
        return {}
    where = {(int(p), int(o)): i for i, (p, o) in enumerate(zip(partitions.tolist(), offsets.tolist(), strict=True))}
    return {key: where[key] for key in rows if key in where}


def _dispute_reason(check: str, *, gx_fail: bool) -> str:
    return (
        f"{check}: Great Expectations says {_verdict(gx_fail)}, the independent prediction says "
        f"{_verdict(not gx_fail)} — verdicts disagree, held for review"
    )


def _whole_reason(check: str, what: str) -> str:
    return f"{check}: {what}; the disagreement names no rows, so every row of the batch is held for review"


def _index_rows(index_list: Any) -> set[tuple[int, int]]:
    """(partition, offset) pairs out of GX's `unexpected_index_list` (either layout GX uses)."""
    rows: set[tuple[int, int]] = set()
    for entry in index_list or []:
        ps, os_ = entry.get(INDEX[0]), entry.get(INDEX[1])
        if isinstance(ps, list):
            rows.update(zip((int(p) for p in ps), (int(o) for o in os_), strict=True))
        else:
            rows.add((int(ps), int(os_)))
    return rows
