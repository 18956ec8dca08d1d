import pytest

pytestmark = pytest.mark.django_db


def test_live(client):
    response = client.get("/health/live")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_ready_reports_every_check(client):
    response = client.get("/health/ready")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "channel_layer": "ok", "broker": "ok"},
    }


@pytest.mark.redis
def test_ready_with_real_redis_everywhere(client, redis_cache, redis_channel_layer, settings, redis_url):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = redis_url
    from contorl.celery import app

    app.conf.broker_url = redis_url
    response = client.get("/health/ready")
    assert response.status_code == 200, response.content
    assert set(response.json()["checks"].values()) == {"ok"}


def test_ready_is_503_naming_the_cache_when_redis_is_dead(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    response = client.get("/health/ready")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["cache"].startswith("error:")
    assert checks["database"] == "ok"


def test_ready_is_503_naming_the_channel_layer_and_broker(client, settings):
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]}}
    }
    settings.CELERY_TASK_ALWAYS_EAGER = False
    from channels.layers import channel_layers

    from contorl.celery import app

    old_broker = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    channel_layers.backends.clear()
    try:
        response = client.get("/health/ready")
    finally:
        app.conf.broker_url = old_broker
        channel_layers.backends.clear()
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["channel_layer"].startswith("error:")
    assert checks["broker"].startswith("error:")
    assert checks["cache"] == "ok"


class LayerThatLosesMessages:
    """Accepts every send and never delivers it (what a dropped pub/sub message looks like)."""

    def __init__(self, **kwargs):
        pass

    async def new_channel(self, prefix="specific."):
        return f"{prefix}lost!1"

    async def send(self, channel, message):
        pass

    async def receive(self, channel):
        import asyncio

        await asyncio.Event().wait()


def test_ready_is_503_when_the_layer_loses_the_ping_instead_of_hanging(client, settings, monkeypatch):
    from channels.layers import channel_layers

    from contorl import health

    monkeypatch.setattr(health, "LAYER_TIMEOUT", 0.3)
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": f"{__name__}.LayerThatLosesMessages"}}
    channel_layers.backends.clear()
    try:
        response = client.get("/health/ready")
    finally:
        channel_layers.backends.clear()
    assert response.status_code == 503
    assert response.json()["checks"]["channel_layer"] == "error: no answer from the channel layer within 0.3 s"
