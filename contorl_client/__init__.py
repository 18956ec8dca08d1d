"""A small asyncio client for CONTORL incident rooms (token auth, ordered resumable chat).

async with RoomClient("http://127.0.0.1:8000", room_id=1, username="bob", password="...") as room:
    await room.send("Line 3 is down")
    frame = await room.receive()
"""

from .client import RoomClient, RoomError, backoff_delay, fetch_token, open_socket, origin_of, ws_url

__all__ = ["RoomClient", "RoomError", "backoff_delay", "fetch_token", "open_socket", "origin_of", "ws_url"]
