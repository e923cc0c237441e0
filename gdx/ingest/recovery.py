"""Restart recovery: the lake, not the consumer group, says what has landed.

A batch commits in this order (`gdx.ingest.runner`):

    1 bronze file      (temp → fsync → rename)
    2 quarantine file  (temp → fsync → rename)
    3 dead-letter records published and flushed
    4 ledger entry     (temp → fsync → rename)   ← the commit point
    5 Kafka offsets committed (last + 1)

Before consuming, under the dataset lock and the lake lease (`gdx.ingest.lease`), recovery:

* deletes temp files a crash left behind;
* deletes every bronze/quarantine file whose batch has no ledger entry: an orphan of a crash
  between 1 and 4. Its records were never committed, so they will be read again — possibly cut
  into a batch with a different last offset, hence a different file name; deleting (not just
  overwriting) is what keeps them from landing twice;
* gathers what `gdx.ingest.offsets` needs to decide where each partition resumes: the ledger
  ranges of the current topic generation, the newest entry's topic id per partition and the gaps
  an operator accepted (`gdx.ingest.resolutions`). A partition resumes at the end of its ledger
  ranges; a crash between 4 and 5 leaves the group behind the lake, and the ledger wins (the
  offset commit is then rolled forward); anything else that does not add up (group ahead of the
  ledger, retention past it, a recreated topic, gaps or overlaps) stops the run;
* puts on the audit chain any ledger file a crash left without its `ingest.batch` entry (between
  4 and its audit append, `gdx.audit.ledger_chain`): the batch stays committed, its entry says it
  was chained by recovery. Temp files of audit appends a crash interrupted are deleted too.

Every deletion goes through `Lake.delete`, which checks the lease's fencing token first: a run
whose lease was taken over (it was paused while another host recovered) raises `Fenced` instead
of deleting a file the new holder may be writing.

Dead-letter publication (3) is at-least-once: a crash between 3 and 4 republishes those records.
Their `gdx.errors.topic/partition/offset` headers identify duplicates.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gdx.ingest import ledger, resolutions
from gdx.ingest.offsets import PartitionFacts
from gdx.ingest.paths import BatchName, bronze_root, quarantine_root, replay_ledger_root

if TYPE_CHECKING:
    from gdx.contracts.model import Contract
    from gdx.ingest.lakefs import Lake

log = logging.getLogger(__name__)


@dataclass
class RecoveryPlan:
    ledger_next: dict[int, int] = field(default_factory=dict)
    """Per partition: last ledger offset + 1 (current generation)."""
    ranges: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    """Per partition: the (first, last) of every ledger batch of the current generation."""
    ledger_topic_ids: dict[int, str | None] = field(default_factory=dict)
    """Per partition: the topic id of the newest ledger entry (None: unknown, an older file)."""
    generation: int = 0
    generation_topic_id: str | None = None
    accepted: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    """Per partition: accepted gaps `[first, end)` of the current generation."""
    orphans: list[str] = field(default_factory=list)
    temp_files: list[str] = field(default_factory=list)
    unchained: list[str] = field(default_factory=list)
    """Committed ledger files with no audit entry (a crash between the ledger write and its entry)."""
    contract_id: str = ""

    @property
    def generation_start(self) -> int | None:
        """A new generation starts at offset 0 of its topic; generation 0's start is unknown."""
        return 0 if self.generation else None

    def facts(
        self, partitions: list[int], committed: dict[int, int | None], watermarks: dict[int, tuple[int, int]]
    ) -> dict[int, PartitionFacts]:
        """The inputs of `gdx.ingest.offsets.plan` per partition."""
        return {
            p: PartitionFacts(
                ranges=self.ranges.get(p, []), committed=committed.get(p), log_start=watermarks[p][0],
                log_end=watermarks[p][1], ledger_topic_id=self.ledger_topic_ids.get(p),
                accepted=self.accepted.get(p, []),
            )  # fmt: skip
            for p in partitions
        }


def _is_temp(path: str) -> bool:
    return path.rsplit("/", 1)[-1].startswith(".") and path.endswith(".tmp")


def scan(lake: Lake, contract: Contract) -> RecoveryPlan:
    from gdx.audit import AuditLog
    from gdx.audit.ledger_chain import unchained

    plan = RecoveryPlan(contract_id=contract.id)
    decided = resolutions.read(lake, contract)
    plan.generation, plan.generation_topic_id = resolutions.current_generation(decided)
    plan.accepted = resolutions.accepted_gaps(decided, plan.generation)
    names = ledger.committed_names(lake, contract)
    committed = {n.stem for n in names}
    newest: dict[int, BatchName] = {}
    for name in names:
        if name.generation != plan.generation:
            continue  # an earlier topic generation: its offsets belong to a deleted topic
        plan.ranges.setdefault(name.partition, []).append((name.first, name.last))
        plan.ledger_next[name.partition] = max(plan.ledger_next.get(name.partition, 0), name.last + 1)
        if name.partition not in newest or name.last > newest[name.partition].last:
            newest[name.partition] = name
    plan.ledger_topic_ids = {p: ledger.topic_id_of(lake, contract, n) for p, n in newest.items()}
    _, replayed = ledger.replayed_offsets(lake, contract)
    for root in (bronze_root(contract), quarantine_root(contract)):
        for f in lake.list(root):
            if _is_temp(f.path):
                plan.temp_files.append(f.path)
                continue
            name = BatchName.parse(f.path)
            if name is None or name.topic != contract.topic:
                continue
            if name.suffix:  # a replay file: committed by its replay-ledger entry
                if name.stem not in replayed:
                    plan.orphans.append(f.path)
            elif name.stem not in committed:
                plan.orphans.append(f.path)
    for root in (ledger.ledger_root(contract), replay_ledger_root(contract)):
        plan.temp_files += [f.path for f in lake.list(root) if _is_temp(f.path)]
    plan.unchained = unchained(AuditLog(lake), lake, contract)
    return plan


def clean(lake: Lake, plan: RecoveryPlan) -> int:
    """Delete the plan's orphans and temp files and chain its unchained ledger files; returns how
    many files were deleted."""
    from gdx.audit import AuditLog
    from gdx.audit.ledger_chain import chain_ledger_file, ledger_facts

    for path in plan.temp_files + plan.orphans:
        lake.delete(path)
    audit = AuditLog(lake)
    audit.remove_stale_temps()
    for path in plan.unchained:
        chain_ledger_file(audit, plan.contract_id, path, ledger_facts(lake, path), recovered=True)
        log.warning(
            "%s: put ledger file %s on the audit chain (its run stopped before the entry)",
            plan.contract_id,
            path,
        )
    return len(plan.temp_files) + len(plan.orphans)
