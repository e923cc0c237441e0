"""The audit log: an append-only SHA-256 hash chain of who did what, one JSON file per entry.

Layout (relative to the lake root, docs/conventions.md "Lake"):

    audit/entries/<seq:012d>.json   one entry, written once, never rewritten
    audit/head.json                 {"seq", "hash", "time"} of the newest entry
    audit/.head.lock                flock serialising head updates (local lake only)

An entry is `seq, time (UTC ISO), principal, action, dataset, outcome, detail, prev_hash, hash`;
`hash` is the SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8) of every other field,
and `prev_hash` is the previous entry's `hash` (`GENESIS` for entry 1). Editing any field breaks
that entry's hash; re-hashing it breaks the next entry's `prev_hash`; removing an entry leaves a
gap in the seq numbers; swapping two leaves seq/file-name and prev_hash mismatches; removing the
newest entry is caught by the head record, which names the newest seq and hash.

Concurrency: appends take no lock for the entry itself. A writer writes its entry to a temp file
and hard-links it onto `<seq>.json`, which fails if the name exists (atomic exclusive create, like
O_EXCL, but a reader never sees a half-written entry and a crash leaves only a temp file). On
conflict it reads the winner's entry and retries with the next seq, chained to it. The head only
moves forward, under a short flock; if a writer dies between its entry and the head, the head
lags and the next append (which always scans forward past the head) moves it on; verify() notes
a lag but does not fail on it. A new log writes its head (seq 0, GENESIS) before entry 1, so a
missing or damaged head next to entries is always tampering: appends then chain on after the
newest entry but never re-create the head, so the evidence stays for verify(). Cost: one head
read, one existence probe and three fsyncs per append, whatever the log's length. Non-local lakes
(s3://) have no exclusive create in pyarrow: appends there need a single writer, as landing does
(gdx.ingest.locking); reading and `verify()` work on any pyarrow filesystem.

What a hash chain cannot detect on its own: it is unkeyed, so someone with write access to the
lake can delete the whole log (or a tail of it) and rewrite the head to match, or re-hash every
entry after the one they edited. The chain makes partial tampering evident; wholesale rewriting
needs an anchor outside the lake: `gdx audit verify` prints the head (`<seq>:<hash>`), which the
operator records elsewhere (a ticket, another agency, a transparency log), and
`gdx audit verify --anchor <seq>:<hash>` checks that entry is still on the chain. Write access
to `audit/` should be limited to the platform services.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gdx.audit.detail import check_fields
from gdx.ingest.lakefs import fsync_dir

if TYPE_CHECKING:
    from collections.abc import Iterator

    from gdx.ingest.lakefs import Lake
    from gdx.settings import Settings

GENESIS = "0" * 64
ENTRIES = "audit/entries"
HEAD = "audit/head.json"
HEAD_LOCK = "audit/.head.lock"
_BROKEN: Any = object()  # a head record that exists but cannot be read
_ENTRY_FILE = re.compile(r"^([0-9]{12})\.json$")
_FIELDS = ("seq", "time", "principal", "action", "dataset", "outcome", "detail", "prev_hash", "hash")


def canonical(obj: Any) -> bytes:
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def entry_file(seq: int) -> str:
    return f"{ENTRIES}/{seq:012d}.json"


@dataclass(frozen=True, eq=True)
class AuditEntry:
    seq: int
    time: str
    principal: str
    action: str
    dataset: str | None
    outcome: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str

    def body(self) -> dict[str, Any]:
        d = asdict(self)
        del d["hash"]
        return d

    def computed_hash(self) -> str:
        return hashlib.sha256(canonical(self.body())).hexdigest()

    def to_json(self) -> bytes:
        return canonical(asdict(self)) + b"\n"

    @classmethod
    def seal(cls, **body: Any) -> AuditEntry:
        """An entry whose `hash` is computed from `body`."""
        digest = hashlib.sha256(canonical(body)).hexdigest()
        return cls(**body, hash=digest)

    @classmethod
    def parse(cls, data: bytes) -> AuditEntry:
        """Raises ValueError if `data` is not an entry (bad JSON, missing or extra fields, types)."""
        try:
            obj = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not valid JSON ({exc})") from None
        if not isinstance(obj, dict) or set(obj) != set(_FIELDS):
            raise ValueError("not an audit entry (fields differ)")
        if not isinstance(obj["seq"], int) or not isinstance(obj["detail"], dict):
            raise ValueError("not an audit entry (field types)")
        return cls(**obj)

    @property
    def when(self) -> datetime:
        return datetime.fromisoformat(self.time)


@dataclass(frozen=True)
class Problem:
    kind: str
    """edited | missing | out_of_order | not_on_chain | head | anchor | ledger_unchained |
    ledger_edited | ledger_missing"""
    message: str
    seq: int | None = None
    path: str | None = None


@dataclass
class VerifyReport:
    entries: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    ledger_files: int = 0
    problem: Problem | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def anchor(self) -> str:
        return f"{self.head_seq}:{self.head_hash}"


class AuditError(RuntimeError):
    """The log cannot be appended to (e.g. an unreadable entry where the next one should go)."""


class AuditLog:
    """The hash-chained audit log in `lake` (see the module docstring for layout and limits)."""

    def __init__(self, lake: Lake) -> None:
        self.lake = lake
        self.conflicts = 0
        """How many times an append lost a race for a seq and retried (tests, metrics)."""

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> AuditLog:
        from gdx.ingest.lakefs import Lake
        from gdx.settings import Settings

        settings = settings or Settings.from_env()
        return cls(Lake(settings.lake_root))

    # -- append -----------------------------------------------------------------------------------
    def append(
        self,
        *,
        principal: str,
        action: str,
        outcome: str,
        dataset: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> AuditEntry:
        """Add one entry at the end of the chain; ValueError if it would carry personal data or a
        secret (`gdx.audit.detail`)."""
        check_fields(principal, action, outcome, dataset, detail)
        detail = json.loads(canonical(detail or {}))  # a private, JSON-normalised copy
        seq, prev, head_ok = self._tail()
        while True:
            entry = AuditEntry.seal(
                seq=seq, time=datetime.now(UTC).isoformat(timespec="microseconds"), principal=principal,
                action=action, dataset=dataset, outcome=outcome, detail=detail, prev_hash=prev,
            )  # fmt: skip
            if self._create(seq, entry.to_json()):
                break
            self.conflicts += 1  # another writer took this seq: chain after its entry
            winner = self._read_entry(seq)
            seq, prev = self._scan_forward(seq + 1, winner.hash)
        if head_ok:
            self._advance_head(entry.seq, entry.hash, entry.time)
        return entry

    def _tail(self, appending: bool = True) -> tuple[int, str, bool]:
        """The seq to write next, the hash to chain to, and whether the head may be moved."""
        try:
            head = self._read_head()
        except (OSError, ValueError):
            head = _BROKEN
        if head is None and not self._files():
            if not appending:
                return 1, GENESIS, False
            # A new log: the head exists before entry 1 does, so "no head" next to entries always
            # means it was removed, never that an append was interrupted.
            self._advance_head(0, GENESIS, datetime.now(UTC).isoformat(timespec="microseconds"))
            head = self._read_head_or_none()
        if head is None or head is _BROKEN:
            head = self._read_head_or_none()  # a first append may have created it meanwhile
        if head is None:
            # Removed or damaged head next to existing entries: tampering, which verify() reports.
            # Chain after the newest entry, but leave the head alone so the evidence stays.
            top = max(self._files(), default=0)
            seq, prev = self._scan_forward(top + 1, self._read_entry(top).hash if top else GENESIS)
            return seq, prev, False
        seq, prev = head["seq"], head["hash"]
        if seq and not self._exists(entry_file(seq)):
            # The head names an entry that is gone (tampering; verify() reports it). Chain to the
            # head's hash anyway: the gap stays visible instead of being papered over.
            return seq + 1, prev, True
        seq, prev = self._scan_forward(seq + 1, prev)
        return seq, prev, True

    def _scan_forward(self, seq: int, prev: str) -> tuple[int, str]:
        while self._exists(entry_file(seq)):
            prev = self._read_entry(seq).hash
            seq += 1
        return seq, prev

    def _read_entry(self, seq: int) -> AuditEntry:
        try:
            return AuditEntry.parse(self._read(entry_file(seq)))
        except (OSError, ValueError) as exc:
            raise AuditError(f"audit entry {seq} is unreadable ({exc}); run `gdx audit verify`") from None

    def _create(self, seq: int, data: bytes) -> bool:
        """Write `data` as entry `seq` unless that entry exists; True if this call created it."""
        target = self.lake.abs(entry_file(seq))
        if not self.lake.local:
            if self._exists(entry_file(seq)):
                return False
            self.lake.fs.create_dir(self.lake.abs(ENTRIES), recursive=True)
            with self.lake.fs.open_output_stream(target) as out:
                out.write(data)
            return True
        folder = os.path.dirname(target)
        os.makedirs(folder, exist_ok=True)
        tmp = f"{folder}/.{seq:012d}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
        with open(tmp, "xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            try:
                os.link(tmp, target)  # atomic, and fails if the name exists
            except FileExistsError:
                return False
            except OSError:  # a filesystem without hard links: exclusive create of the final name
                try:
                    with open(target, "xb") as fh:
                        fh.write(data)
                        fh.flush()
                        os.fsync(fh.fileno())
                except FileExistsError:
                    return False
        finally:
            os.unlink(tmp)
        fsync_dir(folder)
        return True

    def _advance_head(self, seq: int, digest: str, time: str) -> None:
        """Move the head forward to `seq` (never back; never re-create a removed head, except the
        genesis head of a new log)."""
        record = canonical({"seq": seq, "hash": digest, "time": time}) + b"\n"

        def should_write() -> bool:
            try:
                head = self._read_head()
            except (OSError, ValueError):
                return False  # damaged: evidence for verify(), not something to overwrite
            return seq == 0 if head is None else head["seq"] < seq

        if not self.lake.local:
            if should_write():
                self.lake.fs.create_dir(self.lake.abs("audit"), recursive=True)
                with self.lake.fs.open_output_stream(self.lake.abs(HEAD)) as out:
                    out.write(record)
            return
        import fcntl

        target = self.lake.abs(HEAD)
        folder = os.path.dirname(target)
        os.makedirs(folder, exist_ok=True)
        fd = os.open(self.lake.abs(HEAD_LOCK), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if not should_write():
                return  # e.g. a later append already moved the head past this one
            tmp = f"{folder}/.head.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
            with open(tmp, "wb") as fh:
                fh.write(record)
                fh.flush()
                os.fsync(fh.fileno())
            # No fsync of the folder: if a power cut loses this rename, the old head survives and
            # merely lags (tolerated, see verify); the entry itself is already durable.
            os.replace(tmp, target)
        finally:
            os.close(fd)  # releases the flock

    # -- storage helpers ----------------------------------------------------------------------------
    def _exists(self, rel: str) -> bool:
        if self.lake.local:
            return os.path.isfile(self.lake.abs(rel))
        return self.lake.exists(rel)

    def _read(self, rel: str) -> bytes:
        if self.lake.local:
            with open(self.lake.abs(rel), "rb") as fh:
                return fh.read()
        with self.lake.fs.open_input_stream(self.lake.abs(rel)) as fh:
            return fh.read()

    def _read_head(self) -> dict[str, Any] | None:
        """The head record; None if there is none; ValueError if it is malformed."""
        try:
            data = self._read(HEAD)
        except FileNotFoundError:
            return None
        try:
            head = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not valid JSON ({exc})") from None
        if (
            not isinstance(head, dict)
            or not isinstance(head.get("seq"), int)
            or not isinstance(head.get("hash"), str)
        ):
            raise ValueError("not a head record")
        return head

    def _read_head_or_none(self) -> dict[str, Any] | None:
        try:
            return self._read_head()
        except ValueError:
            return None  # append scans forward from the start; verify() reports the bad head

    def _files(self) -> dict[int, str]:
        out: dict[int, str] = {}
        for f in self.lake.list(ENTRIES, recursive=False):
            m = _ENTRY_FILE.match(f.path.rsplit("/", 1)[-1])
            if m:
                out[int(m.group(1))] = f.path
        return out

    def _load(self) -> dict[int, AuditEntry | str]:
        """Every entry file by the seq in its name: the entry, or why it could not be read."""
        loaded: dict[int, AuditEntry | str] = {}
        for seq, path in sorted(self._files().items()):
            try:
                loaded[seq] = AuditEntry.parse(self._read(path))
            except (OSError, ValueError) as exc:
                loaded[seq] = str(exc)
        return loaded

    def remove_stale_temps(self) -> int:
        """Delete temp files of appends whose process is gone (a crash mid-append); local only.
        Returns how many. Temps of live processes are kept: they may be mid-append."""
        if not self.lake.local:
            return 0
        n = 0
        for f in self.lake.list("audit", recursive=True):
            name = f.path.rsplit("/", 1)[-1]
            parts = name.split(".")
            if not (
                name.startswith(".") and name.endswith(".tmp") and len(parts) >= 4 and parts[-3].isdigit()
            ):
                continue
            if not _pid_alive(int(parts[-3])):
                self.lake.delete(f.path)
                n += 1
        return n

    # -- read -------------------------------------------------------------------------------------
    def entries(
        self,
        dataset: str | None = None,
        principal: str | None = None,
        action: str | None = None,
        since: datetime | str | None = None,
    ) -> list[AuditEntry]:
        """Readable entries in seq order, filtered (all given filters must match). `since`: entries
        at or after that time (a naive datetime or ISO string is taken as UTC)."""
        if isinstance(since, str):
            since = datetime.fromisoformat(since)
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        out = []
        for e in self._load().values():
            if not isinstance(e, AuditEntry):
                continue
            if dataset is not None and e.dataset != dataset:
                continue
            if principal is not None and e.principal != principal:
                continue
            if action is not None and e.action != action:
                continue
            if since is not None and e.when < since:
                continue
            out.append(e)
        return out

    def iter_back(self) -> Iterator[AuditEntry]:
        """Readable entries from the newest back to the first, read lazily (recovery's search)."""
        after_last, _, _ = self._tail(appending=False)
        for seq in range(after_last - 1, 0, -1):
            try:
                yield AuditEntry.parse(self._read(entry_file(seq)))
            except (OSError, ValueError):
                continue  # a gap or a damaged entry: verify() names it; keep searching

    def head(self) -> tuple[int, str]:
        """(seq, hash) of the newest entry per the head record ((0, GENESIS) when empty)."""
        head = self._read_head_or_none()
        return (head["seq"], head["hash"]) if head else (0, GENESIS)

    # -- verify -----------------------------------------------------------------------------------
    def verify(self, *, ledger: bool = True, anchor: str | None = None) -> VerifyReport:
        """Check the whole chain (and, with `ledger`, every ledger file against its `ingest.batch`
        entry); the report names the FIRST problem found. `anchor` = `<seq>:<hash>` recorded
        earlier: that entry must still be on the chain with that hash."""
        report = VerifyReport()
        loaded = self._load()
        report.entries = len(loaded)
        problem, hashes = _check_chain(loaded)
        if problem is None:
            problem = self._check_head(report, loaded, hashes)
        if problem is None and anchor:
            problem = _check_anchor(anchor, hashes)
        if problem is None and ledger:
            from gdx.audit.ledger_chain import check_ledger_files

            entries = [e for e in loaded.values() if isinstance(e, AuditEntry)]
            problem, report.ledger_files = check_ledger_files(self.lake, entries)
        report.problem = problem
        return report

    def _check_head(
        self, report: VerifyReport, loaded: dict[int, AuditEntry | str], hashes: dict[int, str]
    ) -> Problem | None:
        top = max(loaded, default=0)
        try:
            head = self._read_head()
        except (OSError, ValueError) as exc:
            return Problem("head", f"the head record {HEAD} is unreadable ({exc})", path=HEAD)
        if head is None:
            if top:
                return Problem(
                    "head",
                    f"the head record {HEAD} is missing (cannot tell whether the newest entries were removed)",
                    path=HEAD,
                )
            return None
        report.head_seq, report.head_hash = head["seq"], head["hash"]
        if head["seq"] > top:
            return Problem(
                "missing", f"entry {top + 1} is missing (the head record says the log ends at entry {head['seq']})",
                seq=top + 1, path=entry_file(top + 1),
            )  # fmt: skip
        if hashes.get(head["seq"]) != head["hash"]:
            return Problem(
                "edited", f"entry {head['seq']} was edited: its hash differs from the head record",
                seq=head["seq"], path=entry_file(head["seq"]),
            )  # fmt: skip
        if head["seq"] < top:
            report.notes.append(
                f"entries {head['seq'] + 1}–{top} are newer than the head record (an append in progress, "
                "or one interrupted before it moved the head; the next append moves it)"
            )
            report.head_seq, report.head_hash = top, hashes[top]
        return None


def _check_chain(loaded: dict[int, AuditEntry | str]) -> tuple[Problem | None, dict[int, str]]:
    hashes: dict[int, str] = {0: GENESIS}
    valid = {n: e for n, e in loaded.items() if isinstance(e, AuditEntry) and e.computed_hash() == e.hash}
    file_of_hash = {e.hash: n for n, e in valid.items()}
    for n in range(1, max(loaded, default=0) + 1):
        path = entry_file(n)
        e = loaded.get(n)
        if e is None:
            return Problem("missing", f"entry {n} is missing", seq=n, path=path), hashes
        if not isinstance(e, AuditEntry):
            return Problem("edited", f"entry {n} was edited: {e}", seq=n, path=path), hashes
        if e.computed_hash() != e.hash:
            return Problem("edited", f"entry {n} was edited: hash mismatch", seq=n, path=path), hashes
        if e.seq == n and e.prev_hash == hashes[n - 1]:
            hashes[n] = e.hash
            continue
        partner = valid.get(e.seq)
        if e.seq != n and partner is not None and partner.seq == n:
            a, b = sorted((n, e.seq))
            return Problem("out_of_order", f"entries {a} and {b} are out of order", seq=a, path=path), hashes
        if e.seq == n - 1 and e.prev_hash == hashes.get(n - 2):
            # entry n continues from n-2: the entry now at n-1 was slipped in between
            return Problem(
                "not_on_chain", f"entry {n - 1} is not on the chain: it was inserted (entry {n} follows entry {n - 2})",
                seq=n - 1, path=entry_file(n - 1),
            ), hashes  # fmt: skip
        if e.seq != n:
            return Problem(
                "out_of_order",
                f"entries {n} and {e.seq} are out of order (file {n} holds entry {e.seq})",
                seq=n,
                path=path,
            ), hashes
        j = file_of_hash.get(e.prev_hash)
        if j is not None:
            return Problem(
                "out_of_order",
                f"entries {n} and {j + 1} are out of order (entry {n} follows entry {j})",
                seq=n,
                path=path,
            ), hashes
        return Problem(
            "not_on_chain",
            f"entry {n} is not on the chain: its prev_hash does not match entry {n - 1}",
            seq=n,
            path=path,
        ), hashes
    return None, hashes


def _check_anchor(anchor: str, hashes: dict[int, str]) -> Problem | None:
    seq_text, _, digest = anchor.partition(":")
    if not seq_text.isdigit() or not re.fullmatch(r"[0-9a-f]{64}", digest):
        return Problem("anchor", f"anchor {anchor!r} is not <seq>:<sha256 hex>")
    seq = int(seq_text)
    if hashes.get(seq) != digest:
        found = "is gone" if seq not in hashes else "has a different hash"
        return Problem(
            "anchor", f"entry {seq} {found}: the log was rewritten since that anchor was recorded", seq=seq
        )
    return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
