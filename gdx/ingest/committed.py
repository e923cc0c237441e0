"""Which landed files are part of the lake: what every reader of bronze and quarantine joins on.

A bronze or quarantine file is committed once its batch has a ledger file,
`ledger/<agency>/<dataset>/<batch id>.parquet` (a replay's bronze file: its
`ledger/<agency>/<dataset>/_replay/<batch id>.parquet`). Until then it may be what a crash left
behind between writing it and committing, which the next ingestion run deletes
(`gdx.ingest.recovery`); a reader that shows it would show rows that are then landed again under
another name. Decided from file names only, exactly as recovery decides.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gdx.ingest.paths import BatchName, ledger_root, replay_ledger_root

if TYPE_CHECKING:
    from gdx.contracts.model import Contract
    from gdx.ingest.lakefs import Lake


def committed_batch_ids(lake: Lake, contract: Contract) -> set[str]:
    """Batch ids (file stems) with a ledger file: batches and replays of the dataset, every major."""
    ids: set[str] = set()
    for root in (ledger_root(contract), replay_ledger_root(contract)):
        for f in lake.list(root, recursive=False):
            name = BatchName.parse(f.path)
            if name is not None and f.path.endswith(".parquet"):
                ids.add(name.stem)
    return ids


def is_committed(path: str, committed: set[str]) -> bool:
    """Whether the bronze/quarantine file at `path` belongs to a committed batch."""
    name = BatchName.parse(path)
    return name is not None and name.stem in committed
