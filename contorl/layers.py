"""The production channel layer: Redis pub/sub, bounded per socket, with a resync after loss.

Why pub/sub: the list-based core layer pushes one copy of every group message per member
into Redis (a 50-member room costs 50 list pushes and 50 pops per chat message); pub/sub
sends one PUBLISH per group and each process fans it out in memory (bench/PROFILE.md).

What the core layer gave that plain pub/sub does not, and this class restores:

- **No silent gap after a Redis outage.** Pub/sub keeps nothing: a frame published while a
  process is disconnected or re-subscribing never reaches that process's sockets. When the
  subscriber connection comes back (redis-py re-subscribes in `on_connect`), every local
  socket is sent `layer.resync`; the consumer answers with a fresh `ready`, on which a board
  refetches, a room resumes from its last seq and the notification badge re-reads its count
  (docs/CONTRACT.md, "ready may come again").
- **A bound per socket.** A socket that stops reading would grow its in-memory queue without
  limit. Past `capacity` queued messages the socket's pending data frames are dropped and one
  `layer.resync` takes their place (control messages such as revocations are kept), so a
  slow client catches up by one reread instead of by an ever longer backlog.
"""

import asyncio
import logging
import threading
import uuid
from collections.abc import Callable

import redis
from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer, RedisSingleShardConnection
from channels_redis.utils import _wrap_close, create_pool, decode_hosts
from redis import asyncio as aioredis
from redis.asyncio.client import PubSub

log = logging.getLogger("contorl.layers")

RESYNC = {"type": "layer.resync"}
DATA_TYPES = frozenset({"event.message"})  # what may be dropped in favour of a resync


class _ResubscribingPubSub(PubSub):
    """redis-py's PubSub, telling its layer each time it has re-subscribed after a reconnect."""

    def __init__(self, *args, on_resubscribed, **kwargs):
        super().__init__(*args, **kwargs)
        self._on_resubscribed = on_resubscribed

    async def on_connect(self, connection):
        await super().on_connect(connection)  # SUBSCRIBE again to every channel and group
        self._on_resubscribed()


class _Shard(RedisSingleShardConnection):
    """channels_redis's shard connection, with SUBSCRIBE and UNSUBSCRIBE sent in batches.

    Each socket subscribes to its own channel and its user's group when it connects, and
    unsubscribes from both when it closes. channels_redis sends each as its own command under
    one lock per shard, so a process's sockets subscribed one after another, a loop turn and a
    write each: with 5,000 sockets closing at once, closes waited there past daphne's 10 s
    limit and were killed (bench/PROFILE.md, fifth session). Changes that arrive while one
    batch is being sent go together as the next: one SUBSCRIBE (or UNSUBSCRIBE) with many
    channels, in arrival order."""

    def __init__(self, host, channel_layer):
        super().__init__(host, channel_layer)
        self._changes: list[tuple[bool, str, asyncio.Future]] = []  # (subscribe?, channel, its waiter)
        self._changer: asyncio.Task | None = None
        self._queued: dict[str, int] = {}  # channel -> its changes queued or in flight

    async def subscribe(self, channel):
        await self._change(True, channel)

    async def unsubscribe(self, channel):
        await self._change(False, channel)

    async def _change(self, subscribe: bool, channel: str) -> None:
        # Nothing to send: a room's group is already subscribed for its other sockets here (or
        # a socket's local channel never was), and no change of it is waiting to go out.
        if (channel in self._subscribed_to) is subscribe and channel not in self._queued:
            return
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queued[channel] = self._queued.get(channel, 0) + 1
        self._changes.append((subscribe, channel, future))
        if self._changer is None or self._changer.done():
            self._changer = loop.create_task(self._apply_changes())
        await future

    async def _apply_changes(self) -> None:
        while self._changes:
            batch, self._changes = self._changes, []
            failure: Exception | None = None
            done = 0  # changes applied: a failed run fails itself and what follows, not what went before
            try:
                async with self._lock:
                    for subscribe, run in _runs(batch):
                        await self._apply_run(subscribe, run)
                        done += len(run)
            except Exception as exc:
                failure = exc
            for index, (_subscribe, channel, future) in enumerate(batch):
                left = self._queued.pop(channel) - 1
                if left:
                    self._queued[channel] = left
                if future.done():  # its socket went meanwhile
                    continue
                if failure is None or index < done:
                    future.set_result(None)
                else:
                    future.set_exception(failure)

    async def _apply_run(self, subscribe: bool, run: list[str]) -> None:
        if subscribe:
            new = [c for c in dict.fromkeys(run) if c not in self._subscribed_to]
            if new:
                self._ensure_redis()
                self._ensure_receiver()
                await self._pubsub.subscribe(*new)
                self._subscribed_to.update(new)
        else:
            gone = [c for c in dict.fromkeys(run) if c in self._subscribed_to]
            if gone:
                self._ensure_redis()
                self._ensure_receiver()
                await self._pubsub.unsubscribe(*gone)
                self._subscribed_to.difference_update(gone)

    def _subscribed(self, channel: str) -> bool:
        return channel in self._subscribed_to or channel in self._queued

    def _ensure_redis(self):
        if self._redis is None:
            self._redis = aioredis.Redis(connection_pool=create_pool(self.host))
            self._pubsub = _ResubscribingPubSub(
                self._redis.connection_pool, on_resubscribed=self.channel_layer.resync_all
            )

    def _receive_message(self, message):
        if message is None:
            return
        name, data = message["channel"], message["data"]
        if isinstance(name, bytes):
            name = name.decode()
        layer = self.channel_layer
        if name in layer.channels:
            layer.deliver(name, layer.channel_layer.deserialize(data))
        elif name in layer.groups:
            layer.deliver_to_group(list(layer.groups[name]), data)


def _runs(batch: list[tuple[bool, str, asyncio.Future]]) -> list[tuple[bool, list[str]]]:
    """The batch as runs of the same operation, in order: [(subscribe?, channels)]."""
    runs: list[tuple[bool, list[str]]] = []
    for subscribe, channel, _future in batch:
        if runs and runs[-1][0] is subscribe:
            runs[-1][1].append(channel)
        else:
            runs.append((subscribe, [channel]))
    return runs


class _LoopLayer(RedisPubSubLoopLayer):
    def __init__(self, *args, capacity: int = 1500, **kwargs):
        super().__init__(*args, **kwargs)
        self.capacity = capacity
        hosts = args[0] if args else kwargs.get("hosts")
        self._shards = [_Shard(host, self) for host in decode_hosts(hosts)]
        self.resyncs = 0  # sockets told to resync, since start (read by tests)
        self.sinks: dict[str, Callable[[dict], bool]] = {}  # PubSubLayer.set_sink

    async def new_local_channel(self) -> str:
        """A socket's own channel, without a Redis subscription: nothing sends to one socket
        from another process (closes and revocations go to groups), so it costs a SUBSCRIBE
        on connect, an UNSUBSCRIBE on close and a Redis subscription per open socket for no
        use. Messages for it reach it only from this process (group deliveries, and
        `send()` from this process)."""
        channel = f"{self.prefix}specific.{uuid.uuid4().hex}"
        self.channels[channel] = asyncio.Queue()
        return channel

    async def send(self, channel, message):
        if channel in self.channels and not self._get_shard(channel)._subscribed(channel):
            # A local channel: the message as a subscriber would have it (a copy, through the
            # same encoding), so the sender may go on changing its own dict.
            serializer = self.channel_layer
            self.deliver(channel, serializer.deserialize(serializer.serialize(message)))
            return
        await super().send(channel, message)

    async def receive(self, channel):
        """channels_redis's receive, for queues that hold messages already decoded (once per
        group message, not once per socket: deliver_to_group)."""
        if channel not in self.channels:
            await self._subscribe_to_channel(channel)
        queue = self.channels[channel]
        try:
            return await queue.get()
        except (TimeoutError, asyncio.CancelledError, GeneratorExit):
            # As channels_redis: a receive cancelled means its consumer is leaving.
            if channel in self.channels:
                del self.channels[channel]
                try:
                    await self._get_shard(channel).unsubscribe(channel)
                except BaseException:
                    log.exception("could not unsubscribe %s", channel)
            raise

    def deliver(self, channel: str, message: dict) -> None:
        queue = self.channels.get(channel)
        if queue is None:
            return
        if queue.qsize() >= self.capacity:
            self._overflow(channel, queue)
        queue.put_nowait(message)

    def deliver_to_group(self, channels: list[str], data: bytes) -> None:
        """One group message to the group's local sockets: decoded once, handed straight to
        each socket whose sink takes it, queued for the others (the same dict for all of them:
        read it, never change it)."""
        message = self.channel_layer.deserialize(data)
        for channel in channels:
            sink = self.sinks.get(channel)
            queue = self.channels.get(channel)
            if sink is not None and queue is not None and queue.empty() and sink(message):
                continue
            self.deliver(channel, message)

    def _overflow(self, channel: str, queue: asyncio.Queue) -> None:
        kept = []
        while not queue.empty():
            message = queue.get_nowait()
            if message.get("type") not in DATA_TYPES | {RESYNC["type"]}:
                kept.append(message)
        for message in kept:
            queue.put_nowait(message)
        queue.put_nowait(RESYNC)
        self.resyncs += 1
        log.warning("socket %s fell %s messages behind: resync instead of a backlog", channel, self.capacity)

    def resync_all(self) -> None:
        """After a re-subscribe: whatever was published meanwhile is lost here, so every local
        socket rereads its state."""
        for queue in self.channels.values():
            queue.put_nowait(RESYNC)
        self.resyncs += len(self.channels)
        log.warning("channel layer re-subscribed after a Redis disconnect: %s sockets resync", len(self.channels))


class PubSubLayer(RedisPubSubChannelLayer):
    """channels_redis's pub/sub layer with the loop layer above (CONFIG adds `capacity`)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._names = _LoopLayer(*args, **kwargs, channel_layer=self)  # names and shards only; never connects
        self._thread_clients: dict[int, redis.Redis] = {}
        self._thread_clients_lock = threading.Lock()

    def group_send_many_from_thread(self, messages: list[tuple[str, dict]]) -> None:
        """group_send() of each (group, message), in order, for a caller outside the event loop
        (a request's or a database call's thread): one pipelined PUBLISH per shard over a
        synchronous connection of its own. Handing the call to the event loop made every write
        wait, thread blocked, until the loop got round to it, behind the fan-out it was busy
        delivering (bench/PROFILE.md, fourth session); and a bulk move of 100 assignments
        publishes 100 frames. Same channel names and encoding as group_send, so subscribers
        cannot tell the two apart; one caller's messages keep their order per group."""
        by_shard: dict[int, list] = {}
        for group, message in messages:
            name = self._names._get_group_channel_name(group)
            index = self._names._shards.index(self._names._get_shard(name))
            by_shard.setdefault(index, []).append((name, self.serialize(message)))
        for index, items in by_shard.items():
            with self._thread_client(index).pipeline(transaction=False) as pipe:
                for name, data in items:
                    pipe.publish(name, data)
                pipe.execute()

    def _thread_client(self, index: int) -> redis.Redis:
        with self._thread_clients_lock:
            client = self._thread_clients.get(index)
            if client is None:
                host = dict(self._names._shards[index].host)
                address = host.pop("address")
                host.setdefault("socket_timeout", 5)  # an outage fails the publish (events buffers it), never hangs
                client = self._thread_clients[index] = redis.Redis.from_url(address, **host)
            return client

    def set_sink(self, channel: str, sink: Callable[[dict], bool] | None) -> None:
        """Let group messages for `channel` skip its queue: `sink(message)` is called with the
        decoded message (shared by the group's sockets: read it, never change it) whenever the
        queue is empty, and returns False to have it queued after all. A 50-member room's chat
        frame thus reaches an idle socket without a queue, a task and a wait per member (what
        the reference server does; bench/PROFILE.md, seventh session). None removes it."""
        sinks = self._get_layer().sinks
        if sink is None:
            sinks.pop(channel, None)
        else:
            sinks[channel] = sink

    async def new_local_channel(self) -> str:
        return await self._get_layer().new_local_channel()

    def receive_ready(self, channel: str, limit: int) -> list[dict]:
        """Up to `limit` messages already queued for `channel`, without waiting (a consumer
        takes what piled up while it was busy in one go, contorl/consumers.py)."""
        queue = self._get_layer().channels.get(channel)
        ready = []
        while queue is not None and len(ready) < limit and not queue.empty():
            ready.append(queue.get_nowait())
        return ready

    def _get_layer(self):
        loop = asyncio.get_running_loop()
        try:
            return self._layers[loop]
        except KeyError:
            layer = _LoopLayer(*self._args, **self._kwargs, channel_layer=self)
            self._layers[loop] = layer
            _wrap_close(self, loop)
            return layer
