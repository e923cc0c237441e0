"""End-of-partition bookkeeping of the batch consumer (pure logic, no broker)."""

from gdx.ingest.consumer import update_at_end


def test_an_eof_after_the_partitions_last_records_counts() -> None:
    at_end: set[int] = set()
    # records of partition 0 and 1, then partition 0's EOF (after 3 records), then more of 1
    update_at_end(at_end, [0, 1, 0, 1, 1], [(3, 0)])
    assert at_end == {0}


def test_a_record_after_an_eof_reopens_the_partition() -> None:
    at_end: set[int] = set()
    update_at_end(at_end, [0, 0, 0], [(1, 0)])
    assert at_end == set()


def test_a_partition_stays_at_end_until_it_gets_a_record() -> None:
    at_end = {0, 2}
    update_at_end(at_end, [1, 1], [(2, 1)])
    assert at_end == {0, 1, 2}
    update_at_end(at_end, [2], [])
    assert at_end == {0, 1}


def test_eofs_only() -> None:
    at_end = {1}
    update_at_end(at_end, [], [(0, 0), (0, 2)])
    assert at_end == {0, 1, 2}
