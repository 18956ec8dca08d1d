"""The benchmark harness's delivery check must really catch each fault it reports."""

import pytest

from bench.checker import check_sequence, check_stream
from bench.stats import percentile

EXPECTED = range(11, 21)  # the room committed seqs 11..20 while the receiver listened


def test_clean_stream_passes():
    result = check_stream(list(EXPECTED), EXPECTED)
    assert result.ok
    assert (result.expected, result.received) == (10, 10)


def test_lost_message_is_reported():
    stream = [s for s in EXPECTED if s != 15]
    result = check_stream(stream, EXPECTED)
    assert (result.lost, result.duplicated, result.out_of_order) == (1, 0, 0)
    assert not result.ok


def test_duplicate_is_reported():
    stream = [11, 12, 13, 13, 14, 15, 16, 17, 18, 19, 20]
    result = check_stream(stream, EXPECTED)
    assert (result.lost, result.duplicated, result.out_of_order) == (0, 1, 0)
    assert not result.ok


def test_out_of_order_is_reported():
    stream = [11, 12, 14, 13, 15, 16, 17, 18, 19, 20]
    result = check_stream(stream, EXPECTED)
    assert (result.lost, result.duplicated, result.out_of_order) == (0, 0, 1)
    assert not result.ok


def test_replay_after_reconnect_counts_once_and_in_order():
    # Resume from 14 replays 15..17 which the live stream never delivered: clean.
    assert check_stream([11, 12, 13, 14, 15, 16, 17, 18, 19, 20], EXPECTED).ok
    # A resume that replays what was already delivered is a duplicate, not "fine".
    result = check_stream([11, 12, 13, 14, 15, 13, 14, 15, 16, 17, 18, 19, 20], EXPECTED)
    assert result.duplicated == 3 and result.lost == 0


def test_seqs_from_before_joining_are_ignored():
    assert check_stream([9, 10, *EXPECTED], EXPECTED).ok


def test_all_faults_at_once_are_counted_separately():
    stream = [11, 13, 12, 13, 16, 17, 18, 19]  # 14, 15, 20 lost; 13 twice; 12 after 13
    result = check_stream(stream, EXPECTED)
    assert (result.lost, result.duplicated, result.out_of_order) == (3, 1, 1)
    assert len(result.examples) >= 3


@pytest.mark.parametrize(
    ("seqs", "gaps", "dups"),
    [([1, 2, 3, 4], 0, 0), ([1, 2, 4], 1, 0), ([1, 2, 2, 3], 0, 1), ([2, 3], 1, 0), ([], 0, 0)],
)
def test_stored_sequence_check(seqs, gaps, dups):
    assert check_sequence(seqs) == (gaps, dups)


def test_percentile_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([], 50) is None


def test_patch_windows_count_each_second_and_the_drain_after_the_end():
    from bench.scenarios.patch import _per_second

    series = [(0.1, 10), (0.5, 30), (0.9, 20), (2.2, 400), (3.7, 900)]  # nothing finished in second 1
    windows = _per_second(series, seconds=3)
    assert [w["done"] for w in windows] == [3, 0, 1, 1]  # second 3 is the backlog draining
    assert windows[0]["p50_ms"] == 20 and windows[0]["p95_ms"] == 30
    assert windows[1]["p95_ms"] is None and windows[3]["p95_ms"] == 900
