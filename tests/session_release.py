"""Session fixtures released right after their last test, not at the end of the session.

A session-scoped broker or Airflow deployment otherwise keeps running (scheduler loops, heartbeats,
JVM threads) through every later test on a 2-core box. The fixture registers how to close itself;
it is closed after the last test of the module of its last user (in the final selection, after
-k/-m), when that module's own fixtures built on it are gone.
`close` must be idempotent: the fixture's own teardown at session end runs it again.

Only for fixtures no test requests dynamically (`request.getfixturevalue`): those are not in any
test's fixture closure, so their last user cannot be known (the S3 server is one)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

_PENDING = pytest.StashKey[dict[str, Callable[[], None]]]()
_LAST_USER = pytest.StashKey[dict[str, str]]()


def release_after_last_use(request: pytest.FixtureRequest, close: Callable[[], None]) -> None:
    """Close this fixture's resource after the last selected test that uses it."""
    request.config.stash.setdefault(_PENDING, {})[request.fixturename] = close


def release_finished(item: pytest.Item) -> None:
    """Called after `item`'s teardown: close what no later test needs."""
    pending = item.config.stash.get(_PENDING, {})
    if not pending:
        return
    last = item.config.stash.get(_LAST_USER, None)
    if last is None:
        # released after the last test of the last user's module: a module-scoped fixture built on
        # the resource (a consumer, a deployment) is torn down only when its module ends
        module_end = {_module(it): it.nodeid for it in item.session.items}
        last = {}
        for it in item.session.items:
            for name in getattr(it, "fixturenames", ()):
                last[name] = module_end[_module(it)]
        item.config.stash[_LAST_USER] = last
    # newest first: a resource registered later may run on an earlier one (Airflow on the broker)
    for name in [n for n in reversed(pending) if last.get(n) == item.nodeid]:
        pending.pop(name)()


def _module(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]
