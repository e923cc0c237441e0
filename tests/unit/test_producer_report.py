"""ProduceResult accounting and the rejects file."""

from __future__ import annotations

import orjson

from gdx.producer.report import Failure, ProduceResult, Reject, Violation, rejects_path_for, write_rejects


def test_ok_only_when_everything_published():
    r = ProduceResult("a.b", "gdx.a.b.v1", read=3, normalised=3, published=3)
    assert r.ok
    r.failures.append(Failure(2, "k", "e", "boom"))
    assert not r.ok and r.failed == 1
    r2 = ProduceResult("a.b", "t", read=3, normalised=2, published=2)
    r2.rejects.append(Reject(1, 2, (Violation("x", "wrong_type", "bad"),)))
    assert not r2.ok and r2.valid == 2


def test_rejects_grouped_by_reason_and_written(tmp_path):
    r = ProduceResult("a.b", "t", read=3)
    r.rejects += [
        Reject(
            1, 2, (Violation("pm25", "wrong_type", "x", "abc"), Violation("aqi", "out_of_range", "y", 900))
        ),
        Reject(2, 3, (Violation("pm25", "wrong_type", "x", object()),)),
    ]
    assert r.rejects_by_reason()[0] == ("wrong_type", "pm25", 2)
    src = tmp_path / "in.csv"
    path = rejects_path_for(src)
    assert path.name == "in.csv.rejects.ndjson"
    assert write_rejects(r.rejects, path) == 2
    lines = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert lines[0]["line"] == 2 and lines[0]["violations"][1]["code"] == "out_of_range"
    assert isinstance(lines[1]["violations"][0]["value"], str)  # unserialisable values are repr'd
