import json

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import UserFactory
from trainer_app.models import WorkerHeartbeat

pytestmark = pytest.mark.django_db


def test_healthz_is_503_without_a_worker(client):
    response = client.get(reverse("healthz"))
    report = json.loads(response.content)
    assert response.status_code == 503
    assert report["checks"]["database"]["ok"] is True
    assert report["checks"]["broker"]["ok"] is True
    assert report["checks"]["channel_layer"]["ok"] is True
    assert report["checks"]["worker"]["ok"] is False
    assert "no worker heartbeat" in report["checks"]["worker"]["detail"]


def test_healthz_is_200_with_a_fresh_heartbeat_and_lists_engines(client):
    WorkerHeartbeat.objects.create(hostname="w1@test", last_seen=timezone.now(), queues="realtime")
    response = client.get(reverse("healthz"))
    report = json.loads(response.content)
    assert response.status_code == 200, report
    engines = {e["engine"]: e for e in report["engines"]}
    assert engines["embeddings"]["ok"] is True
    assert engines["embeddings"]["production"] is False and "embedded default" in engines["embeddings"]["detail"]


def test_a_stale_heartbeat_counts_as_down(client, settings):
    WorkerHeartbeat.objects.create(
        hostname="w1@test", last_seen=timezone.now() - timezone.timedelta(seconds=settings.WORKER_HEARTBEAT_STALE_SECONDS + 1)
    )
    assert client.get(reverse("healthz")).status_code == 503


def test_health_page_is_for_admins_only(client):
    client.force_login(UserFactory(role="admin"))
    response = client.get(reverse("health"))
    assert response.status_code == 200 and 'data-testid="health-engines"' in response.content.decode()
    client.force_login(UserFactory(role="instructor"))
    assert client.get(reverse("health")).status_code == 403


def test_anonymous_healthz_hides_raw_errors_and_worker_hosts(client):
    WorkerHeartbeat.objects.create(hostname="secret-host@10.0.0.7", last_seen=timezone.now(), queues="realtime")
    body = client.get(reverse("healthz")).content.decode()
    assert "secret-host" not in body
    assert json.loads(body)["checks"]["worker"]["workers"] == 1
    client.force_login(UserFactory(role="admin"))
    assert "secret-host" in client.get(reverse("healthz")).content.decode()
