"""Decode and type a raw batch against the contract: the first, structural half of validation.

The Arrow types come from `to_arrow_schema(contract)`, never from the batch. Every record either
yields one typed value per property or a `Failure` (rule id + reason); nothing here raises on bad
input. Checks, in order, first failure wins:

* headers (`header.*`): exactly the five wire headers of `gdx.events`, this contract's id and
  agency, a version of this major, a well-formed event id that matches the value bytes;
* the value (`message.*`): present, at most `max_message_bytes`, UTF-8 JSON (orjson: rejects
  invalid UTF-8, raw control characters, NaN/Infinity, numbers that overflow a double, nesting
  deeper than 1024), a JSON object; `record.unknown_property` for keys the contract lacks (absent
  keys are null, as in the wire format);
* personal-data properties (`<property>.not_encrypted|undecryptable`): the value must be the
  wire form of `gdx.security.field_crypto` and open with a private key this landing holds, for
  this contract and property; it is decrypted here, before any typed check, so the checks and GX
  below see the clear value (which lands only as its HMAC token). A clear value means a producer
  did not encrypt: quarantined, never landed;
* per property (`<property>.type|format|out_of_range|oversized|control_characters|
  undeclared_personal_data`): the JSON type fits the logical type (booleans are not numbers,
  `1.5` is not an integer), dates are `YYYY-MM-DD`, timestamps ISO 8601 with an offset, both
  within 1678–2261 (what pandas/GX can represent — a Buddhist-Era year sent as CE lands here),
  strings carry no control characters (identifier-like properties with a pattern: not even
  newlines, which Python's `$` would let through GX) and no valid citizen id unless the contract
  declares the property as personal data.

Speed: orjson per record, then one C-level pass per column (`set(map(type, col))`) decides
whether pyarrow can convert the column at once; only columns holding a wrongly typed value take
the per-value path.
"""

from __future__ import annotations

import operator
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import orjson

from gdx.events import (
    CONTENT_TYPE,
    H_AGENCY,
    H_CONTENT_TYPE,
    H_CONTRACT_ID,
    H_CONTRACT_VERSION,
    H_EVENT_ID,
    REQUIRED_HEADERS,
)
from gdx.ingest.config import IngestConfig
from gdx.ingest.model import Failure, Failures, RawBatch

if TYPE_CHECKING:
    import pyarrow as pa

    from gdx.contracts.model import Contract, Property
    from gdx.ingest.pii import Pseudonymiser
    from gdx.security.field_crypto import FieldDecryptor

_JSON_TYPE = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object", list: "array"}
_NONE = type(None)
_STR_OK = frozenset({str, _NONE})
_INT_OK = frozenset({int, _NONE})
_NUM_OK = frozenset({int, float, _NONE})
_BOOL_OK = frozenset({bool, _NONE})
_MIN_YEAR, _MAX_YEAR = 1678, 2261
_UNPARSED = object()  # a record that failed before JSON parsing (JSON `null` parses to None)
_DATE_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_TS_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:?[0-9]{2})$"
# C0 controls except tab/LF/CR, and DEL; identifier-like properties also refuse tab/LF/CR.
_CONTROL_RE = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
_CONTROL_STRICT_RE = r"[\x00-\x1f\x7f]"


def json_type(value: Any) -> str:
    return _JSON_TYPE.get(type(value), "null" if value is None else type(value).__name__)


class Decoded:
    """A typed batch: one Arrow array per property (null where the record failed) + failures.

    `event_ids` holds each record's `gdx.event.id` as ASCII hex (bytes or str), None if it had none.
    """

    def __init__(self, n: int, columns: dict[str, pa.Array], failures: Failures, event_ids: list[Any]):
        self.n = n
        self.columns = columns
        self.failures = failures
        self.event_ids = event_ids

    def ok_rows(self) -> list[int]:
        failed = self.failures.first
        return [i for i in range(self.n) if i not in failed]


class Decoder:
    """Decodes batches of one contract; build once per run (it caches per-contract state)."""

    def __init__(
        self,
        contract: Contract,
        config: IngestConfig,
        pseudonymiser: Pseudonymiser,
        decryptor: FieldDecryptor | None = None,
    ) -> None:
        """`decryptor` opens the personal-data properties; without one (a contract with personal
        data and no private key) every such value is quarantined rather than landed."""
        from gdx.contracts.exporters import to_arrow_schema

        self.contract = contract
        self.decryptor = decryptor
        self.config = config
        self.pseudonymiser = pseudonymiser
        self.props = contract.properties
        self.names = tuple(p.name for p in self.props)
        self.keyset = frozenset(self.names)
        if len(self.names) == 1:
            only = self.names[0]
            self.getter: Any = lambda d: (d[only],)
        else:
            self.getter = operator.itemgetter(*self.names)
        schema = to_arrow_schema(contract)
        self.types = {p.name: schema.field(p.landed_name).type for p in self.props}
        self._id_h = (H_CONTRACT_ID, contract.id.encode())
        self._agency_h = (H_AGENCY, contract.agency.encode())
        self._ct_h = (H_CONTENT_TYPE, CONTENT_TYPE.encode())
        self._versions: dict[bytes, bool] = {}
        self._prefix = f"{contract.id}/v{contract.major}\n".encode()
        self._personal = bool(contract.pii_properties)

    # -- headers --------------------------------------------------------------------------------
    def _version_ok(self, raw: bytes | None) -> bool:
        ok = self._versions.get(raw) if raw is not None else False
        if ok is None:
            try:
                parts = raw.decode("ascii").split(".")  # type: ignore[union-attr]
                ok = len(parts) == 3 and all(p.isdigit() for p in parts) and int(parts[0]) == self.contract.major
            except UnicodeDecodeError:
                ok = False
            self._versions[raw] = ok  # type: ignore[index]
        return bool(ok)

    def _slow_headers(self, headers: list[tuple[str, bytes | None]] | None) -> tuple[Failure | None, bytes | None]:
        """Full header check for records not in the canonical layout; (failure, event id bytes)."""
        headers = headers or []
        names = [k for k, _ in headers]
        seen: dict[str, bytes | None] = {}
        for k, v in headers:
            if k in seen:
                return Failure("header.duplicate", None, f"header {k!r} appears more than once"), None
            seen[k] = v
        missing = [h for h in REQUIRED_HEADERS if h not in seen]
        if missing:
            return Failure("header.missing", None, f"missing header(s): {', '.join(missing)}"), None
        extra = [k for k in names if k not in REQUIRED_HEADERS]
        if extra:
            shown = ", ".join(repr(self.pseudonymiser.mask_text(k[:64], True)) for k in extra[:3])
            return Failure("header.unexpected", None, f"unexpected header(s): {shown}"), None
        if seen[H_CONTRACT_ID] != self._id_h[1]:
            return Failure("header.contract_mismatch", None, f"{H_CONTRACT_ID} is not {self.contract.id}"), None
        if seen[H_AGENCY] != self._agency_h[1]:
            return Failure("header.agency_mismatch", None, f"{H_AGENCY} is not {self.contract.agency}"), None
        if seen[H_CONTENT_TYPE] != self._ct_h[1]:
            return Failure("header.content_type", None, f"{H_CONTENT_TYPE} is not {CONTENT_TYPE}"), None
        if not self._version_ok(seen[H_CONTRACT_VERSION]):
            return Failure(
                "header.version_mismatch", None, f"{H_CONTRACT_VERSION} is not a {self.contract.major}.x.y version"
            ), None
        return None, seen[H_EVENT_ID]

    # -- the batch ------------------------------------------------------------------------------
    def decode(self, raw: RawBatch, accept_tokens: bool = False) -> Decoded:
        """Type every record of `raw` or record why it fails. Written as whole-batch passes
        (comprehensions run in C-level loops) rather than one loop per record: ~2x faster.

        `accept_tokens` (replay only): a personal value that is already an HMAC token (a
        quarantined payload never holds the clear id) passes the decryption step as it is."""
        from binascii import hexlify
        from hashlib import sha256

        n = len(raw)
        failures = Failures()
        fail = failures.add
        values, hs = raw.values, raw.headers
        id_h, agency_h, ct_h = self._id_h, self._agency_h, self._ct_h
        good_versions = self._learn_versions(hs)

        # 1. headers in the canonical layout of gdx.events.headers_for (all of them, normally)
        fast = [
            h is not None and len(h) == 5 and h[0] == id_h and h[2] == agency_h and h[4] == ct_h
            and h[1] in good_versions and h[3][0] == H_EVENT_ID
            for h in hs
        ]  # fmt: skip
        eid_raw: list[Any] = [h[3][1] if f else None for h, f in zip(hs, fast, strict=True)]
        for i in [i for i, f in enumerate(fast) if not f]:
            failure, eid = self._slow_headers(hs[i])
            if failure is not None:
                fail(i, failure)
            else:
                eid_raw[i] = eid
        # 2. the value: present, not too large, matching its event id. Ids stay bytes (compared
        # with the hex digest as bytes): decoding a million of them to str costs more than hashing.
        max_bytes = self.config.max_message_bytes
        eids: list[Any]
        if self.config.verify_event_id:
            prefix = self._prefix
            eids = eid_raw
            digests = [hexlify(sha256(prefix + v).digest()) if v is not None else None for v in values]
            good = [
                e is not None and v is not None and d == e and len(v) <= max_bytes
                for e, v, d in zip(eids, values, digests, strict=True)
            ]
        else:
            eids = [e.decode("ascii", "replace") if type(e) is bytes else None for e in eid_raw]
            good = [
                e is not None and v is not None and len(e) == 64 and len(v) <= max_bytes
                for e, v in zip(eids, values, strict=True)
            ]
        for i in [i for i, g in enumerate(good) if not g]:
            v, e = values[i], eids[i]
            if i in failures:
                pass
            elif v is None:
                fail(i, Failure("message.null_value", None, "the record has no value (tombstone)"))
            elif e is None or len(e) != 64:
                fail(i, Failure("header.event_id", None, f"{H_EVENT_ID} is not a sha256 hex digest"))
            elif len(v) > max_bytes:
                fail(i, Failure("message.too_large", None, f"value of {len(v)} bytes exceeds {max_bytes}"))
            else:
                fail(i, Failure("header.event_id_mismatch", None, f"{H_EVENT_ID} does not match the value bytes"))
            eids[i] = None if i in failures and failures.first[i].rule_id.startswith("header.event_id") else e

        # 3. JSON
        loads, decode_error = orjson.loads, orjson.JSONDecodeError
        docs: list[Any] = []
        append = docs.append
        for v, g in zip(values, good, strict=True):
            if g:
                try:
                    append(loads(v))
                    continue
                except decode_error as exc:
                    append(_json_failure(str(exc)))
                    continue
            append(_UNPARSED)
        keyset, getter = self.keyset, self.getter
        none_row = (None,) * len(self.names)
        nkeys = len(keyset)
        try:  # as many keys as the contract and none missing (getter) = exactly its keys
            rows = [getter(d) if type(d) is dict and len(d) == nkeys else none_row for d in docs]
        except KeyError:  # a record with one key missing and one unknown: check key sets
            rows = [getter(d) if type(d) is dict and d.keys() == keyset else none_row for d in docs]
        for i in [i for i, r in enumerate(rows) if r is none_row]:
            d = docs[i]
            if d is _UNPARSED:
                continue  # failed before parsing
            if type(d) is Failure:
                fail(i, d)
            elif type(d) is not dict:
                fail(i, Failure("message.not_object", None, f"value is a JSON {json_type(d)}, not an object"))
            else:
                unknown = d.keys() - keyset
                if unknown:
                    name = self.pseudonymiser.mask_text(sorted(unknown)[0][:64], True)
                    fail(i, Failure("record.unknown_property", name, f"{len(unknown)} propert(y/ies) not in the contract"))
                else:
                    rows[i] = tuple(d.get(k) for k in self.names)  # absent keys are null
        del docs

        # 4. columns
        columns: dict[str, pa.Array] = {}
        transposed = list(zip(*rows, strict=True)) if rows else [() for _ in self.names]
        del rows
        for j, prop in enumerate(self.props):
            col = transposed[j]
            if prop.is_pii:
                col = self._decrypt(prop, col, failures, accept_tokens)
            columns[prop.name] = self._column(prop, col, failures)
        return Decoded(n, columns, failures, eids)

    # -- personal data --------------------------------------------------------------------------
    def _decrypt(self, prop: Property, col: tuple[Any, ...], failures: Failures, accept_tokens: bool) -> tuple[Any, ...]:
        """The clear values of a personal-data column; rows that arrived in clear or do not open
        become failures (and null here). Reasons name the problem, never the value."""
        from gdx.ingest.pii import is_token
        from gdx.security.field_crypto import PREFIX, REASONS

        out = list(col)
        sealed: list[int] = []
        clear = Failure(
            f"{prop.name}.not_encrypted", prop.name,
            "personal data arrived in clear: the producer must encrypt it (gdxenc:v1, docs/publish-encrypted-fields.md)",
        )  # fmt: skip
        for i, v in enumerate(col):
            if v is None:
                continue
            if type(v) is str and v.startswith(PREFIX):
                sealed.append(i)
            elif accept_tokens and is_token(v):
                continue
            else:
                failures.add(i, clear)
                out[i] = None
        if not sealed:
            return tuple(out)
        if self.decryptor is None:
            failure = Failure(f"{prop.name}.undecryptable", prop.name, "no private field key is configured at landing")
            failures.add_many(sealed, failure)
            for i in sealed:
                out[i] = None
            return tuple(out)
        opened = self.decryptor.open_many(prop.name, [col[i] for i in sealed])
        by_reason: dict[str, Failure] = {}
        for k, i in enumerate(sealed):
            out[i] = opened.values[k]
        for k, exc in opened.errors.items():
            i = sealed[k]
            reason = str(exc) if exc.kind in REASONS else "cannot be decrypted"
            failure = by_reason.setdefault(reason, Failure(f"{prop.name}.undecryptable", prop.name, reason))
            failures.add(i, failure)
            out[i] = None
        return tuple(out)

    def _learn_versions(self, hs: list[Any]) -> set[tuple[str, bytes]]:
        """Version headers of this major for the fast path: the contract's own, and those of a
        sample of the batch (records with any other version take the slow path, still correct)."""
        sample = hs[:: max(1, len(hs) // 2000)]
        seen = {h[1] for h in sample if h is not None and len(h) == 5 and type(h[1]) is tuple}
        seen.add((H_CONTRACT_VERSION, self.contract.version.encode()))
        return {v for v in seen if v[0] == H_CONTRACT_VERSION and self._version_ok(v[1])}

    # -- columns --------------------------------------------------------------------------------
    def _column(self, prop: Property, col: tuple[Any, ...], failures: Failures) -> pa.Array:
        lt = prop.logical_type
        if lt == "string":
            return self._strings(prop, col, failures)
        if lt == "integer":
            return _integers(prop, col, failures)
        if lt == "number":
            return _numbers(prop, col, failures)
        if lt == "boolean":
            return _booleans(prop, col, failures)
        if lt == "date":
            return self._dates(prop, col, failures)
        if lt == "timestamp":
            return self._timestamps(prop, col, failures)
        raise ValueError(f"{prop.name}: unsupported logicalType {lt!r}")

    def _strings(self, prop: Property, col: tuple[Any, ...], failures: Failures, check_pii: bool = True) -> pa.Array:
        import pyarrow as pa
        import pyarrow.compute as pc

        arr = _as_strings(prop, col, failures)
        if len(arr) == 0 or arr.null_count == len(arr):
            return arr
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        strict = prop.pattern is not None
        control, strict_control, maybe_id = _byte_flags(arr)
        if pc.max(pc.binary_length(arr)).as_py() > self.config.max_field_bytes:
            too_long = pc.greater(pc.binary_length(arr), self.config.max_field_bytes)
            _mark(too_long, failures, Failure(f"{prop.name}.oversized", prop.name, f"longer than {self.config.max_field_bytes} bytes"))
        if control or (strict and strict_control):
            found = pc.match_substring_regex(arr, _CONTROL_STRICT_RE if strict else _CONTROL_RE)
            note = " (line breaks and tabs included: the property has a pattern)" if strict else ""
            _mark(found, failures, Failure(f"{prop.name}.control_characters", prop.name, "contains a control character" + note))
        if check_pii and not prop.is_pii and maybe_id:
            from gdx.ingest.pii import citizen_id_rows

            rows = citizen_id_rows(arr)
            if rows:
                failures.add_many(
                    rows,
                    Failure(
                        f"{prop.name}.undeclared_personal_data",
                        prop.name,
                        "holds a valid Thai citizen id, but the contract does not declare the property as personal data",
                    ),
                )
        return arr if isinstance(arr, pa.Array) else arr.combine_chunks()

    def _dates(self, prop: Property, col: tuple[Any, ...], failures: Failures) -> pa.Array:
        import pyarrow as pa

        text = self._strings(prop, col, failures, check_pii=False)
        return _parse_temporal(prop, text, failures, _DATE_RE, pa.date32(), "a date YYYY-MM-DD", _py_date)

    def _timestamps(self, prop: Property, col: tuple[Any, ...], failures: Failures) -> pa.Array:
        text = self._strings(prop, col, failures, check_pii=False)
        return _parse_temporal(
            prop, text, failures, _TS_RE, self.types[prop.name], "an ISO 8601 timestamp with a UTC offset", _py_timestamp
        )


def _byte_flags(arr: pa.Array) -> tuple[bool, bool, bool]:
    """Whole-column screens over the UTF-8 data buffer, so that the per-value regexes run only on
    the rare column that needs them: (has a C0/DEL control other than tab/LF/CR, has any control,
    may hold a citizen id). Any 13-digit id, however grouped by dashes or spaces, has a run of at
    least 4 ASCII digits or uses Thai digits. The buffer may extend beyond a sliced array: that
    can only raise a false alarm."""
    import numpy as np

    data = arr.buffers()[2]
    if data is None or data.size == 0:
        return False, False, False
    b = np.frombuffer(data, dtype=np.uint8)
    raw = memoryview(data).tobytes()
    any_control = bool(b.min() < 0x20) or raw.find(b"\x7f") >= 0
    control = any_control and bool(
        ((b < 0x20) & (b != 0x09) & (b != 0x0A) & (b != 0x0D)).any() or raw.find(b"\x7f") >= 0
    )
    d = (b - np.uint8(0x30)) < 10  # uint8 wrap-around: one pass for 0x30 <= b <= 0x39
    maybe_id = False
    if len(b) >= 4 and d.any():
        maybe_id = bool((d[:-3] & d[1:-2] & d[2:-1] & d[3:]).any())
    if not maybe_id and len(b) >= 2:  # Thai digits: E0 B9 90..99
        maybe_id = bool((((b[1:] - np.uint8(0x90)) < 10) & (b[:-1] == 0xB9)).any())
    return control, any_control, maybe_id


def _json_failure(message: str) -> Failure:
    lowered = message.lower()
    if "utf-8" in lowered or "surrogate" in lowered:
        return Failure("message.invalid_utf8", None, "value is not valid UTF-8")
    if "depth" in lowered or "recursion" in lowered:
        return Failure("message.too_deep", None, "JSON nesting deeper than 1024 levels")
    # orjson's message names the problem and a position, never the payload.
    return Failure("message.invalid_json", None, f"not valid JSON: {message[:160]}")


def _mark(mask: pa.Array, failures: Failures, failure: Failure) -> None:
    import numpy as np
    import pyarrow.compute as pc

    if mask.null_count == len(mask):
        return
    if not pc.any(mask).as_py():
        return
    failures.add_many(np.flatnonzero(pc.fill_null(mask, False).to_numpy(zero_copy_only=False)).tolist(), failure)


def _bad_type(prop: Property, value: Any, expected: str) -> Failure:
    return Failure(f"{prop.name}.type", prop.name, f"expected {expected}, got {json_type(value)}")


def _as_strings(prop: Property, col: tuple[Any, ...], failures: Failures) -> pa.Array:
    import pyarrow as pa

    if set(map(type, col)) <= _STR_OK:
        return pa.array(col, pa.string())
    out: list[str | None] = []
    for i, x in enumerate(col):
        if x is None or type(x) is str:
            out.append(x)
        else:
            failures.add(i, _bad_type(prop, x, "string"))
            out.append(None)
    return pa.array(out, pa.string())


def _integers(prop: Property, col: tuple[Any, ...], failures: Failures) -> pa.Array:
    import pyarrow as pa

    if set(map(type, col)) <= _INT_OK:
        try:
            return pa.array(col, pa.int64())
        except (OverflowError, pa.ArrowInvalid, pa.ArrowTypeError):
            pass
    out: list[int | None] = []
    for i, x in enumerate(col):
        t = type(x)
        if x is None:
            out.append(None)
        elif t is int and -(2**63) <= x < 2**63:
            out.append(x)
        elif t is int:
            failures.add(i, Failure(f"{prop.name}.type", prop.name, "integer outside the 64-bit range"))
            out.append(None)
        elif t is float and x.is_integer() and abs(x) <= 2**53:
            out.append(int(x))  # JSON has one number type: 5.0 is the integer 5
        elif t is float:
            failures.add(i, Failure(f"{prop.name}.type", prop.name, "expected integer, got a number with a fraction or beyond 2^53"))
            out.append(None)
        else:
            failures.add(i, _bad_type(prop, x, "integer"))
            out.append(None)
    return pa.array(out, pa.int64())


def _numbers(prop: Property, col: tuple[Any, ...], failures: Failures) -> pa.Array:
    import pyarrow as pa

    if set(map(type, col)) <= _NUM_OK:
        try:
            return pa.array(col, pa.float64())
        except (OverflowError, pa.ArrowInvalid, pa.ArrowTypeError):
            pass
    out: list[float | None] = []
    for i, x in enumerate(col):
        t = type(x)
        if x is None:
            out.append(None)
        elif t is float or t is int:
            out.append(float(x))
        else:
            failures.add(i, _bad_type(prop, x, "number"))
            out.append(None)
    return pa.array(out, pa.float64())


def _booleans(prop: Property, col: tuple[Any, ...], failures: Failures) -> pa.Array:
    import pyarrow as pa

    if set(map(type, col)) <= _BOOL_OK:
        return pa.array(col, pa.bool_())
    out: list[bool | None] = []
    for i, x in enumerate(col):
        if x is None or type(x) is bool:
            out.append(x)
        else:
            failures.add(i, _bad_type(prop, x, "boolean"))
            out.append(None)
    return pa.array(out, pa.bool_())


def _py_date(text: str) -> date:
    return date.fromisoformat(text)


def _py_timestamp(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError("no UTC offset")
    return value


def _parse_temporal(
    prop: Property,
    text: pa.Array,
    failures: Failures,
    regex: str,
    target: pa.DataType,
    expected: str,
    py_parse: Any,
) -> pa.Array:
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(text) == 0:
        return pa.array([], target)
    bad_format = pc.invert(pc.match_substring_regex(text, regex))
    bad_rows = _rows(bad_format)
    failure = Failure(f"{prop.name}.format", prop.name, f"expected {expected}")
    failures.add_many(bad_rows, failure)
    if bad_rows:
        text = pc.if_else(pc.fill_null(bad_format, False), pa.scalar(None, pa.string()), text)
    try:
        typed = pc.cast(text, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # Some value that looks right is not a calendar date/time (30 February): find it.
        values: list[Any] = []
        for i, t in enumerate(text.to_pylist()):
            if t is None:
                values.append(None)
                continue
            try:
                values.append(py_parse(t))
            except ValueError:
                failures.add(i, Failure(f"{prop.name}.format", prop.name, f"expected {expected} (not a calendar date/time)"))
                values.append(None)
        typed = pa.array(values, target)
    year = pc.year(typed)
    out_of_range = pc.or_(pc.less(year, _MIN_YEAR), pc.greater(year, _MAX_YEAR))
    _mark(
        out_of_range,
        failures,
        Failure(f"{prop.name}.out_of_range", prop.name, f"year outside {_MIN_YEAR}-{_MAX_YEAR} (a Buddhist-Era year sent as CE?)"),
    )
    return typed


def _rows(mask: pa.Array) -> list[int]:
    import numpy as np
    import pyarrow.compute as pc

    if mask.null_count == len(mask) or not pc.any(mask).as_py():
        return []
    return np.flatnonzero(pc.fill_null(mask, False).to_numpy(zero_copy_only=False)).tolist()
