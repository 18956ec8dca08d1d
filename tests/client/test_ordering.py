"""The client's ordering rules without a server: hold early frames, drop repeats."""

from contorl_client import RoomClient


def frame(seq):
    return {"type": "message", "seq": seq, "data": {"content": f"m{seq}"}}


async def test_out_of_order_frames_are_delivered_in_seq_order_once():
    rc = RoomClient("http://127.0.0.1:9", room_id=1, token="t")
    rc.last_seq = 10
    for seq in (12, 11, 11, 14, 10, 13, 12, 15):
        rc._on_message(frame(seq))
    got = [rc._inbox.get_nowait()["seq"] for _ in range(rc._inbox.qsize())]
    assert got == [11, 12, 13, 14, 15]
    assert rc.last_seq == 15 and rc._held == {}
    await rc.close()


async def test_a_gap_holds_later_frames():
    rc = RoomClient("http://127.0.0.1:9", room_id=1, token="t")
    rc.last_seq = 0
    rc._on_message(frame(2))
    rc._on_message(frame(3))
    assert rc._inbox.qsize() == 0 and rc.last_seq == 0 and sorted(rc._held) == [2, 3]
    rc._on_message(frame(1))
    assert [rc._inbox.get_nowait()["seq"] for _ in range(3)] == [1, 2, 3]
    await rc.close()
