"""Where each partition resumes — checked against the lake, the group and the broker, never assumed.

The lake's ledger is the source of truth: a partition resumes at the end of its ledger ranges
(`ledger next`). `plan_partition` is a pure function of what the runner gathered before consuming:

* the ledger's batch ranges of the current topic generation and the newest entry's topic id,
* the gaps an operator accepted (`gdx.ingest.resolutions`; they count like ledger ranges),
* the group's committed offset, the broker's log start and end (watermarks), the topic's id now.

It returns a start offset, or the problems that make any start offset a guess:

=================  ======================================================  =====================
problem            what it means                                           resolution
=================  ======================================================  =====================
topic_recreated    the topic id differs from the ledger's / generation's   --new-topic-generation
ledger_overlap     two committed batches claim the same offsets            by hand (see message)
ledger_gap         offsets between two ledger ranges were never landed     --accept-gap
group_ahead        the group committed past the ledger (lake restored      --rewind-group (read it
                   from a backup, GDX_LAKE_ROOT re-pointed)                again), --accept-gap
                                                                           (skip it), or point
                                                                           GDX_LAKE_ROOT right
beyond_log_end     the ledger is past the log end (topic truncated or      --new-topic-generation
                   recreated, wrong cluster)
retention_gap      resuming below the log start: retention deleted         --accept-gap
                   records before they were read
=================  ======================================================  =====================

A group *behind* the ledger is not a problem: a crash between the ledger write and the offset
commit leaves it there, and the runner rolls the commit forward. An empty ledger resumes at the log
start (nothing was landed, nothing older is readable); a group that committed past the log start
into an empty lake is `group_ahead` too. A ledger entry written before topic ids were kept has
none: it is "unknown" and never a mismatch (the offset checks still catch most recreations).
"""

from __future__ import annotations

from dataclasses import dataclass, field

TOPIC_RECREATED = "topic_recreated"
LEDGER_OVERLAP = "ledger_overlap"
LEDGER_GAP = "ledger_gap"
GROUP_AHEAD = "group_ahead"
BEYOND_LOG_END = "beyond_log_end"
RETENTION_GAP = "retention_gap"
GAP_KINDS = frozenset({LEDGER_GAP, GROUP_AHEAD, RETENTION_GAP})
"""Problems `--accept-gap` resolves: a known `[first, end)` range that will never be landed."""


@dataclass(frozen=True)
class PartitionFacts:
    ranges: list[tuple[int, int]]
    """Ledger batches of the current generation, inclusive `(first, last)`."""
    committed: int | None
    """The group's next offset to read; None if it never committed."""
    log_start: int
    log_end: int
    """Broker watermarks: first offset still stored, offset the next record will get."""
    ledger_topic_id: str | None = None
    """Topic id of the partition's newest ledger entry; None if unknown (older file) or no entry."""
    accepted: list[tuple[int, int]] = field(default_factory=list)
    """Accepted gaps, `[first, end)`."""


@dataclass(frozen=True)
class Problem:
    partition: int
    kind: str
    detail: str
    first: int | None = None
    end: int | None = None
    """The offsets concerned, `[first, end)` (gaps and overlaps)."""

    @property
    def acceptable(self) -> bool:
        return self.kind in GAP_KINDS


@dataclass(frozen=True)
class Decision:
    partition: int
    start: int | None
    """Where to resume; None when there are problems."""
    problems: list[Problem] = field(default_factory=list)


def plan_partition(
    partition: int,
    facts: PartitionFacts,
    *,
    topic_id: str | None,
    generation_topic_id: str | None = None,
    generation_start: int | None = None,
) -> Decision:
    """The start offset of one partition, or why there is none (see the module docstring).

    `topic_id`: the topic's id now (None: the broker did not say; no id check then).
    `generation_topic_id`: the id a `--new-topic-generation` recorded for the current generation.
    `generation_start`: where the current generation began (0 for a new generation; None for
    generation 0, whose beginning the ledger does not know)."""
    p = partition
    expected = generation_topic_id or facts.ledger_topic_id
    if topic_id is not None and expected is not None and topic_id != expected:
        return Decision(
            p, None, [Problem(p, TOPIC_RECREATED, f"topic id is {topic_id}, the ledger's is {expected}")]
        )

    problems: list[Problem] = []
    spans = sorted(
        [(f, last + 1, True) for f, last in facts.ranges] + [(a, b, False) for a, b in facts.accepted]
    )
    end: int | None = generation_start
    end_is_batch = False
    for first, stop, is_batch in spans:
        if end is not None and first < end and is_batch and end_is_batch:
            problems.append(
                Problem(
                    p,
                    LEDGER_OVERLAP,
                    f"offsets {first}..{min(end, stop) - 1} are in two ledger batches",
                    first,
                    min(end, stop),
                )
            )
        elif end is not None and first > end:
            problems.append(
                Problem(
                    p,
                    LEDGER_GAP,
                    f"offsets [{end}, {first}) are between two ledger ranges and were never landed",
                    end,
                    first,
                )
            )
        if end is None or stop >= end:
            end, end_is_batch = stop, is_batch

    nxt = facts.log_start if end is None else end
    committed = facts.committed
    if committed is not None and committed > nxt:
        what = "the ledger is empty" if end is None else f"the ledger ends at {nxt}"
        problems.append(
            Problem(
                p,
                GROUP_AHEAD,
                f"the group committed {committed} but {what}: [{nxt}, {committed}) would be skipped",
                nxt,
                committed,
            )
        )
    if nxt > facts.log_end:
        problems.append(
            Problem(p, BEYOND_LOG_END, f"the ledger's next offset {nxt} is past the log end {facts.log_end}")
        )
    elif nxt < facts.log_start:
        problems.append(
            Problem(
                p,
                RETENTION_GAP,
                f"resuming at {nxt} but the log starts at {facts.log_start}: [{nxt}, {facts.log_start}) were deleted before they were read",
                nxt,
                facts.log_start,
            )
        )
    return Decision(p, None if problems else nxt, problems)


def plan(
    facts: dict[int, PartitionFacts],
    *,
    topic_id: str | None,
    generation_topic_id: str | None = None,
    generation_start: int | None = None,
) -> dict[int, Decision]:
    return {
        p: plan_partition(
            p,
            f,
            topic_id=topic_id,
            generation_topic_id=generation_topic_id,
            generation_start=generation_start,
        )
        for p, f in sorted(facts.items())
    }


def operator_message(contract_id: str, topic: str, generation: int, problems: list[Problem]) -> str:
    """What happened (with the numbers) and what the options are (the exact commands)."""
    lines = [
        f"{contract_id}: ingestion stopped before consuming anything: the offsets of {topic} (generation {generation}) do not add up."
    ]
    for pr in problems:
        lines.append(f"  partition {pr.partition}: {pr.kind}: {pr.detail}")
    kinds = {pr.kind for pr in problems}
    lines.append("Nothing was consumed or committed; the lake is unchanged. Options:")
    if kinds & {TOPIC_RECREATED, BEYOND_LOG_END}:
        lines.append(
            f"  - the topic was deleted and recreated: start a new generation from offset 0 of the new topic"
            f" (earlier batches stay): gdx ingest {contract_id} --new-topic-generation"
        )
    if kinds & {BEYOND_LOG_END, GROUP_AHEAD}:
        lines.append(
            "  - the lake or the cluster is the wrong one: fix GDX_LAKE_ROOT / the bootstrap servers and rerun"
        )
    if kinds & GAP_KINDS:
        gaps = ", ".join(f"p{pr.partition} [{pr.first}, {pr.end})" for pr in problems if pr.acceptable)
        lines.append(
            f"  - accept that these offsets will never be landed ({gaps}); recorded in the ledger, then ingestion"
            f" continues after them: gdx ingest {contract_id} --accept-gap"
        )
    if GROUP_AHEAD in kinds:
        lines.append(
            "  - the lake is right (restored from a backup) and the records are still on the topic: set the group back"
            f" to the ledger and read them again (recorded in the ledger): gdx ingest {contract_id} --rewind-group"
        )
    if LEDGER_OVERLAP in kinds:
        lines.append(
            "  - overlapping batches mean the lake holds offsets twice (a topic recreated before topic ids were kept?):"
            " compare the ledger files of those offsets, remove the wrong batch (ledger, bronze and quarantine files) and rerun"
        )
    return "\n".join(lines)
