"""Shared fixtures: a real, throwaway Apache Kafka broker for the whole test session."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap address of a real Kafka 4 broker (KRaft) on a free loopback port.

    With KAFKA_BOOTSTRAP_SERVERS set, the tests use that cluster instead and start nothing.
    """
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        yield external
        return
    from gdx.kafka_local import throwaway_broker

    with throwaway_broker(tmp_path_factory.mktemp("kafka")) as broker:
        yield broker.bootstrap


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> str:
    """A short name unique to this test, for topics and consumer groups that must not collide."""
    stem = "".join(c if c.isalnum() else "-" for c in request.node.name)[:40]
    return f"t-{stem}-{uuid.uuid4().hex[:8]}"
