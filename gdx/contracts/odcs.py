"""A fast "is this contract clean?" for datacontract-cli's ODCS lint, exact messages otherwise.

`datacontract lint` (its Python API) costs ~0.6 s a contract: it re-checks the whole ODCS JSON
Schema against the meta-schema on every call and parses YAML with pure-Python PyYAML; jsonschema's
own validation then takes ~60 ms. At 8,000 contracts that is over an hour. Most contracts are
clean, so `clean(raw_no_timestamps)` answers only that question, with the same steps
datacontract's `lint()` takes (same bundled schema for the contract's apiVersion, same
unevaluatedProperties removal, same enum, unknown-field and unrunnable-rule checks, same Pydantic
model) but with the schema compiled once, by fastjsonschema, into Python code (~1 ms a contract).

Soundness matters more than speed: `clean` may say "not sure" (False) for a clean contract —
the caller then runs the real datacontract-cli, whose findings are the ones reported — but it
must never say clean when datacontract-cli would complain. Hence: `$ref` siblings (which
fastjsonschema ignores, draft 2019-09 does not) are wrapped in `allOf`, formats are asserted
(stricter than jsonschema, which only annotates them), and anything unusual (YAML tags, a
non-ODCS document, authoritativeDefinitions that datacontract resolves, an import or attribute
missing after a datacontract-cli upgrade) falls back to the real thing.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

_RISKY_TEXT = re.compile(r"authoritativeDefinitions|%TAG|!")


def _rewrite_schema(schema: dict[str, Any]) -> dict[str, Any]:
    # keywords under "properties"/"$defs" are names, not keywords: rewrite their values only
    def walk(node: Any, names: bool = False) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        if names:
            return {k: walk(v) for k, v in node.items()}
        out = {
            k: walk(v, names=k in {"properties", "$defs", "definitions", "patternProperties"})
            for k, v in node.items()
            if k != "unevaluatedProperties"
        }
        if "$ref" in out and len(out) > 1:
            ref = out.pop("$ref")
            out = {"allOf": [{"$ref": ref}, out]}
        return out

    return walk(schema)


@cache
def _validator(schema_version: str) -> Any:
    import fastjsonschema
    from datacontract.lint import resolve
    from datacontract.lint.schema import fetch_schema

    location = resources_schema(resolve, schema_version)
    schema = json.loads(json.dumps(fetch_schema(location)))
    return fastjsonschema.compile(_rewrite_schema(schema), use_default=False)


def resources_schema(resolve: Any, schema_version: str) -> Any:
    return resolve.resources.files("datacontract").joinpath("schemas", f"odcs-{schema_version}.schema.json")


def clean(text: str, doc: Any) -> bool:
    """True only if datacontract-cli's lint of this contract (text, parsed without timestamps)
    would report nothing but "passed"; False means "ask datacontract-cli"."""
    if _RISKY_TEXT.search(text) or not isinstance(doc, dict):
        return False
    try:
        from datacontract.data_contract import _unrunnable_rule_checks
        from datacontract.lint import resolve
        from datacontract.lint.constraints import enum_value_errors
        from datacontract.model.odcs import is_open_data_contract_standard, is_open_data_product_standard

        if is_open_data_product_standard(doc) or not is_open_data_contract_standard(doc):
            return False
        version = resolve.ODCS_SCHEMA_VERSIONS.get(doc.get("apiVersion"), resolve.DEFAULT_ODCS_SCHEMA_VERSION)
        _validator(version)(doc)
        if enum_value_errors(doc):
            return False
        if resolve._ignored_fields(doc, resolve.OpenDataContractStandard, "data"):
            return False
        odcs = resolve._parse_odcs_from_dict(doc)
        return not _unrunnable_rule_checks(odcs)
    except Exception:  # any doubt (invalid, or a changed datacontract-cli) → the real lint
        return False


@cache
def _constructor_class() -> type:
    import yaml
    from yaml.constructor import SafeConstructor

    class NoTimestampConstructor(SafeConstructor):
        """datacontract-cli's view of a YAML node tree: dates stay strings, duplicate keys fail."""

        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
            if any(key.tag == "tag:yaml.org,2002:merge" for key, _ in node.value):
                raise ValueError("merge keys: leave them to datacontract-cli")
            mapping = super().construct_mapping(node, deep=deep)
            if len(mapping) != len(node.value):
                raise ValueError("duplicate key")
            return mapping

    NoTimestampConstructor.add_constructor("tag:yaml.org,2002:timestamp", SafeConstructor.construct_yaml_str)
    return NoTimestampConstructor


def document(node: Any) -> Any:
    """The dict datacontract-cli validates (its loader keeps dates as strings), or None if in doubt."""
    if node is None:
        return None
    try:
        return _constructor_class()().construct_document(node)
    except Exception:  # duplicate keys, merge keys, odd tags: the real lint decides
        return None


def warm_up(version: str | None = None) -> None:
    """Import datacontract-cli and compile the schema now (before forking workers that share it)."""
    from datacontract.lint import resolve

    _validator(version or resolve.DEFAULT_ODCS_SCHEMA_VERSION)
    for v in set(resolve.ODCS_SCHEMA_VERSIONS.values()):
        _validator(v)
