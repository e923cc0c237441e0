"""KRaft cluster ids: the storage tool must never be handed one that looks like an option."""

import base64
from pathlib import Path

from gdx import kafka_local


def test_new_cluster_ids_are_16_bytes_and_never_start_with_a_dash() -> None:
    ids = [kafka_local.new_cluster_id() for _ in range(5000)]  # ~78 would start with "-" unguarded
    assert all(not cid.startswith("-") for cid in ids)
    assert all(len(base64.urlsafe_b64decode(cid + "==")) == 16 for cid in ids)
    assert len(set(ids)) == len(ids)


def test_a_stored_id_is_reused(tmp_path: Path) -> None:
    first = kafka_local._cluster_id(tmp_path)
    assert kafka_local._cluster_id(tmp_path) == first


def test_a_stored_id_starting_with_a_dash_is_replaced(tmp_path: Path) -> None:
    # Written by an earlier version that did not guard against it; storage was never formatted.
    (tmp_path / "cluster.id").write_text("-bad5zXl3SE2o0JYwZa1Eg\n")
    cid = kafka_local._cluster_id(tmp_path)
    assert not cid.startswith("-")
    assert (tmp_path / "cluster.id").read_text().strip() == cid
