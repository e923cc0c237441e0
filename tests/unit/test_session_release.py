"""`tests.session_release`: a session resource is closed after the last module that uses it (not
at session end, not before that module's own fixtures built on it are gone), and only once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

CONFTEST = """
import pytest
from tests.session_release import release_after_last_use, release_finished

EVENTS = []

@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    result = yield
    release_finished(item)
    return result

@pytest.fixture(scope="session")
def broker(request):
    def close():
        if "closed" not in EVENTS:
            EVENTS.append("closed")
    release_after_last_use(request, close)
    yield EVENTS
    close()

@pytest.fixture(scope="module")
def consumer(broker):
    yield
    broker.append("consumer torn down")  # must come before the broker closes

def pytest_sessionfinish(session):
    print("EVENTS", EVENTS)
"""


def test_released_after_the_last_users_module(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_a.py").write_text(
        "def test_a1(consumer, broker):\n    broker.append('a1')\n\n"
        "def test_a2():\n    from conftest import EVENTS\n    EVENTS.append('a2')\n"
    )
    (tmp_path / "test_b.py").write_text(
        "def test_b():\n    from conftest import EVENTS\n    EVENTS.append('b')\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(tmp_path)])}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "-c", "/dev/null",
         "--rootdir", str(tmp_path), str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    (line,) = [x for x in done.stdout.splitlines() if "EVENTS" in x]
    # a2 does not use the broker but is in the last user's module: the close waits for its end
    assert line.endswith("EVENTS ['a1', 'a2', 'consumer torn down', 'closed', 'b']"), line
