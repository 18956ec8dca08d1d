"""The channel layer settings: pub/sub by default; the list-based core layer (CHANNEL_LAYER=core)
must read longer than channels_redis blocks (BZPOPMIN 5 s), or every idle WebSocket consumer
dies with redis "Timeout reading" after about 5 s."""

import json
import os
import subprocess
import sys
from pathlib import Path

from channels_redis.core import RedisChannelLayer

ROOT = Path(__file__).resolve().parents[2]


def layer_settings(**environ: str) -> dict:
    env = {**os.environ, "REDIS_URL": "redis://127.0.0.1:6399/0", "DJANGO_SETTINGS_MODULE": "contorl.settings"}
    env.pop("CHANNEL_LAYER", None)
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps(s.CHANNEL_LAYERS))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**env, **environ}, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr[-1000:]
    return json.loads(out.stdout.strip().splitlines()[-1])["default"]


def test_pubsub_is_the_default_with_a_bound_per_socket():
    layer = layer_settings()
    assert layer["BACKEND"] == "contorl.layers.PubSubLayer"
    assert layer["CONFIG"]["capacity"] == 1500
    assert layer_settings(CHANNEL_CAPACITY="200")["CONFIG"]["capacity"] == 200


def test_channel_layer_socket_timeout_outlasts_the_blocking_pop():
    layer = layer_settings(CHANNEL_LAYER="core")
    assert layer["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    host = layer["CONFIG"]["hosts"][0]
    assert isinstance(host, dict), "a bare URL gets redis-py's 5 s read timeout"
    assert host["socket_timeout"] > RedisChannelLayer.brpop_timeout
