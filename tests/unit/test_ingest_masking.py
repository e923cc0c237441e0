"""`Pseudonymiser.mask_text` works on parsed JSON: a citizen id survives masking in no encoding —
plain, Thai digits, dashes/spaces, `\\uXXXX` escapes of either, mixed, nested, as a key, as a
number — and bytes that do not parse get the conservative fallback. Checked against an
independent scanner (json.loads + digit folding), not the masker's own detector."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gdx.ingest.pii import (
    MAX_WALK_DEPTH,
    TOO_DEEP_PLACEHOLDER,
    PiiKey,
    Pseudonymiser,
    has_clear_citizen_id,
    mask_value,
)
from gdx.thai.citizen_id import make_citizen_id, normalize_citizen_id

KEYED = Pseudonymiser(PiiKey.parse("k1:" + "m" * 32))
UNKEYED = Pseudonymiser(None)
THAI = "๐๑๒๓๔๕๖๗๘๙"
_RUN = re.compile(r"[0-9](?:[ -]?[0-9]){12,}")
_BOUNDED = re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9]){12}(?![0-9])")
# HMAC tokens and SHA-256 event ids are hashes, not ids: 13 decimal digits in a row occur in their
# hex by chance, so the scanner blanks them first.
_TOKEN = re.compile(r"(?:k[0-9]+:)?[0-9a-f]{64}")


def _scan_text(text: str) -> list[str]:
    """Valid ids a reader sees in `text`: Thai digits folded, single dashes/spaces allowed, any
    13-digit window of a longer run that is bounded by non-digits on both sides counted."""
    text = _TOKEN.sub(" ", text).translate(str.maketrans(THAI, "0123456789"))
    found = []
    for m in _RUN.finditer(text):
        digits = re.sub(r"[ -]", "", m.group(0))
        if len(digits) == 13 and normalize_citizen_id(digits):
            found.append(digits)
    # and 13 digits set off by a separator from more digits ("<id> 5")
    for m in _BOUNDED.finditer(text):
        digits = re.sub(r"[ -]", "", m.group(0))
        if normalize_citizen_id(digits) and digits not in found:
            found.append(digits)
    return found


def _crude_unescape(text: str) -> str:
    """Every `\\uXXXX` decoded, nested ones too, whether or not the text is JSON."""
    for _ in range(3):
        text = re.sub(r"\\+u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)
    return text


def _scan(text: str) -> list[str]:
    """Ids in the raw text (as is and with every escape decoded), in every string/number after
    JSON unescaping, and after decoding `\\uXXXX` once more (an escaped escape)."""
    found = _scan_text(text) + _scan_text(_crude_unescape(text))
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):  # too deep for any default reader: the text scans above hold
        doc = None
    if doc is not None:
        stack = [doc]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                stack += list(node.keys()) + list(node.values())
            elif isinstance(node, list):
                stack += node
            elif isinstance(node, str):
                found += _scan_text(node)
                if "\\u" in node:
                    try:
                        found += _scan_text(json.loads(f'"{node}"'))
                    except ValueError:
                        pass
            elif isinstance(node, int | float) and not isinstance(node, bool):
                found += _scan_text(repr(node))
    return found


ids = st.integers(10**11, 10**12 - 1).map(lambda n: make_citizen_id(str(n)))


def _esc(c: str) -> str:
    return f"\\u{ord(c):04x}"


@st.composite
def encoded_id(draw: st.DrawFn) -> tuple[str, str]:
    """(the id as JSON string *content*, the id)."""
    cid = draw(ids)
    form = draw(st.sampled_from(["plain", "thai", "dashes", "spaces", "esc", "esc_thai", "mixed", "esc_esc"]))
    if form == "plain":
        text = cid
    elif form == "thai":
        text = cid.translate(str.maketrans("0123456789", THAI))
    elif form == "dashes":
        text = f"{cid[0]}-{cid[1:5]}-{cid[5:10]}-{cid[10:12]}-{cid[12]}"
    elif form == "spaces":
        text = f"{cid[0]} {cid[1:5]} {cid[5:10]} {cid[10:12]} {cid[12]}"
    elif form == "esc":
        text = "".join(_esc(c) for c in cid)
    elif form == "esc_thai":
        text = "".join(_esc(THAI[int(c)]) for c in cid)
    elif form == "esc_esc":  # the JSON string holds the literal text \u0031…
        text = "".join(f"\\\\u{ord(c):04x}" for c in cid)
    else:
        parts = []
        for c in cid:
            how = draw(st.sampled_from(["a", "t", "ea", "et"]))
            parts.append({"a": c, "t": THAI[int(c)], "ea": _esc(c), "et": _esc(THAI[int(c)])}[how])
        text = "".join(parts)
    return text, cid


@st.composite
def payload(draw: st.DrawFn) -> tuple[str, str]:
    content, cid = draw(encoded_id())
    filler = draw(st.sampled_from(["", "ลูกหนี้ ", "call ", "id="]))
    string = f'"{filler}{content}"'
    where = draw(st.sampled_from(["value", "key", "nested", "array", "number", "deep_key"]))
    if where == "value":
        text = f'{{"case_id":"BRM-2567-1","note":{string},"principal_thb":5000.5}}'
    elif where == "key":
        text = f'{{{string}:1,"a":"b"}}'
    elif where == "nested":
        text = f'{{"a":{{"b":{{"c":[1,2,{{"d":{string}}}]}}}}}}'
    elif where == "array":
        text = f'[1,"x",{string},null,true]'
    elif where == "deep_key":
        text = f'{{"a":[{{{string}:{{"z":0}}}}]}}'
    else:
        text = f'{{"n":{cid},"m":[{cid}.0]}}'
    return text, cid


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload(), st.booleans(), st.booleans())
def test_no_encoding_survives_masking(item: tuple[str, str], personal: bool, keyed: bool) -> None:
    text, cid = item
    assert cid in _scan(text)  # the scanner sees it before masking (the test can fail)
    out = (KEYED if keyed else UNKEYED).mask_text(text, personal)
    assert _scan(out) == [], (text, out)
    assert not has_clear_citizen_id(out)
    json.loads(out)  # a parsed payload stays JSON
    if keyed and '"n"' not in text:
        assert KEYED.token(cid) in out  # tokenised, so the quarantine keeps joining on it


@settings(max_examples=200, deadline=None)
@given(encoded_id(), st.sampled_from(['{"a": "', '{"a": "x", ', "not json ", '{"a": "\xff']))
def test_unparseable_text_gets_the_conservative_fallback(item: tuple[str, str], head: str) -> None:
    content, cid = item
    text = head + content + " and 1234567890123456 trailing"
    out = KEYED.mask_text(text, personal=False)
    assert _scan_text(out) == [] and _scan(out) == []
    assert "1234567890123456" not in out  # any 13+ digit run goes, whatever `personal` says


def test_unchanged_payload_is_returned_byte_for_byte() -> None:
    text = '{"b": 1,  "a": "สวัสดี \\u0e01", "n": 12345678901234567}'
    assert KEYED.mask_text(text, personal=False) == text
    assert "12345678901234567" not in KEYED.mask_text(text, personal=True)


def test_tokens_and_ciphertext_are_left_alone() -> None:
    token = KEYED.token(make_citizen_id("110170020754"))
    wire = "gdxenc:v1:k1:" + "A" * 40 + "_-" + "b" * 40
    text = json.dumps({"citizen_id": wire, "seen": token})
    assert KEYED.mask_text(text, personal=True) == text


def test_mask_value_for_producer_reports() -> None:
    cid = make_citizen_id("310170020754")
    raw = {"เลขประจำตัว": cid.translate(str.maketrans("0123456789", THAI)), "rows": [cid, 5], "n": int(cid)}
    masked = mask_value(raw, personal=False)
    assert _scan(json.dumps(masked, ensure_ascii=False)) == []
    assert masked["rows"][1] == 5 and raw["rows"][0] == cid  # the input is not modified


@pytest.mark.parametrize("depth", [1, MAX_WALK_DEPTH, MAX_WALK_DEPTH + 1, 600, 1023, 1024, 5000])
@pytest.mark.parametrize("personal", [True, False])
@pytest.mark.parametrize("shape", ["array", "object"])
def test_deeply_nested_payloads_are_masked_never_crash(depth: int, personal: bool, shape: str) -> None:
    # orjson parses up to 1024 levels; a recursive walk of that (as the first version was) hit
    # Python's recursion limit at ~500, which failed the batch on every retry: one hostile record
    # could stop a dataset. Past MAX_WALK_DEPTH the text is masked as text instead.
    cid = make_citizen_id("110170020754")
    leaf = f'"{cid}"'
    text = "[" * depth + leaf + "]" * depth if shape == "array" else '{"a":' * depth + leaf + "}" * depth
    keyed = Pseudonymiser(PiiKey.parse("k1:0123456789abcdef0123"))
    for masker in (keyed, Pseudonymiser(None)):
        out = masker.mask_text(text, personal)
        assert _scan(out) == [] and cid not in out
    assert keyed.token(cid) in keyed.mask_text(text, personal)


def test_mask_value_of_a_too_deep_value_shows_nothing() -> None:
    value: object = make_citizen_id("110170020754")
    for _ in range(MAX_WALK_DEPTH + 1):
        value = [value]
    assert mask_value(value, False) == TOO_DEEP_PLACEHOLDER
