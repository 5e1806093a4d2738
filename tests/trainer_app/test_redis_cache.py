"""The production cache (trainer_app/redis_cache.py) against a real Redis: Django's cache contract, one
client per pool, incr in one round trip that never creates a key."""

from __future__ import annotations

import os
import threading
import time
import uuid

import pytest
import redis

from trainer_app.redis_cache import RedisCache

pytestmark = pytest.mark.production

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13")


@pytest.fixture
def cache():
    backend = RedisCache(REDIS_URL, {"KEY_PREFIX": f"test-redis-cache-{uuid.uuid4().hex}"})
    yield backend  # then its keys deleted one by one: clear() would FLUSHDB a database that may be shared
    for key in ("n", "gone", "t", "obj"):
        backend.delete(key)


@pytest.fixture
def commands(monkeypatch):
    """Commands sent to Redis by this process, by name."""
    sent: list[str] = []
    original = redis.connection.AbstractConnection.send_command

    def send_command(self, *args, **kwargs):
        sent.append(str(args[0]).upper())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_command", send_command)
    return sent


def test_the_cache_contract_holds(cache):
    assert cache.add("n", 0, timeout=60) is True and cache.add("n", 5, timeout=60) is False
    assert cache.incr("n") == 1 and cache.incr("n", 4) == 5 and cache.get("n") == 5
    cache.set("obj", {"a": [1, 2]}, timeout=60)
    assert cache.get("obj") == {"a": [1, 2]}
    with pytest.raises(ValueError, match="not found"):
        cache.incr("gone")
    assert cache.get("gone", "absent") == "absent"  # a failed incr creates nothing


def test_incr_keeps_the_expiry_and_is_one_round_trip(cache, commands):
    cache.add("t", 0, timeout=60)
    raw = cache._cache.get_client(write=True)
    ttl_before = raw.ttl(cache.make_key("t"))
    commands.clear()
    assert cache.incr("t") == 1
    assert commands == ["EVALSHA"]  # Django's client: EXISTS, then INCRBY
    assert 0 < raw.ttl(cache.make_key("t")) <= ttl_before


def test_incr_after_the_script_cache_was_emptied(cache):
    # a restarted Redis has forgotten the script: it is loaded again, the count goes on
    cache.add("n", 0, timeout=60)
    assert cache.incr("n") == 1
    cache._cache.get_client(write=True).script_flush()
    assert cache.incr("n") == 2


def test_one_client_serves_every_thread(cache):
    clients = []

    def use():
        cache.add("n", 0, timeout=60)
        cache.incr("n")
        clients.append(cache._cache.get_client(write=True))

    threads = [threading.Thread(target=use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert len(clients) == 8 and len({id(c) for c in clients}) == 1
    assert cache.get("n") == 8


def test_an_expired_key_is_not_counted(cache):
    cache.add("t", 0, timeout=1)
    time.sleep(1.2)
    with pytest.raises(ValueError):
        cache.incr("t")
    assert cache.get("t") is None
