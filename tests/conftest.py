"""Test lanes and the real processes tests drive.

TEST_LANE=embedded (default): SQLite, SQLite broker and channel layer.
TEST_LANE=production: PostgreSQL + Redis; only database tests and tests marked
`production` run. Under CI a missing service fails the lane instead of skipping.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

LANE = os.environ.get("TEST_LANE", "embedded")
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def pytest_report_header(config):
    return f"test lane: {LANE}"


def pytest_configure(config):
    if LANE == "production":
        missing = [name for name, port in (("PostgreSQL", 5432), ("Redis", 6379)) if not _reachable("127.0.0.1", port)]
        if missing:
            message = f"production lane needs {', '.join(missing)} on 127.0.0.1 and cannot reach it"
            if os.environ.get("CI"):
                raise pytest.UsageError(message)
            config._production_lane_skip = message


# Tests that start real processes (a Celery worker, the web server, Chromium) get this limit
# instead of pyproject's per-test one, unless they set their own with @pytest.mark.timeout.
PROCESS_TEST_TIMEOUT_S = 300
_PROCESS_FIXTURES = {"celery_worker_process", "live_processes", "live_app", "fault_stack", "app_stack"}


def pytest_collection_modifyitems(config, items):
    skip_reason = getattr(config, "_production_lane_skip", None)
    selected, deselected = [], []
    for item in items:
        if item.get_closest_marker("timeout") is None and (
            item.get_closest_marker("browser") is not None or _PROCESS_FIXTURES & set(getattr(item, "fixturenames", ()))
        ):
            item.add_marker(pytest.mark.timeout(PROCESS_TEST_TIMEOUT_S))
        is_browser = item.get_closest_marker("browser") is not None
        is_production = item.get_closest_marker("production") is not None
        uses_db = item.get_closest_marker("django_db") is not None or "transactional_db" in getattr(item, "fixturenames", ())
        if LANE == "production":
            if is_browser or not (uses_db or is_production):
                deselected.append(item)
                continue
            if skip_reason:
                item.add_marker(pytest.mark.skip(reason=skip_reason))
        elif is_production:
            item.add_marker(pytest.mark.skip(reason="runs in the production lane (PostgreSQL + Redis)"))
        selected.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
    # Browser tests last: they hold a Playwright event loop for the rest of the session.
    items[:] = sorted(selected, key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(autouse=True)
def _reply_admission_relaxed(settings):
    """In-process tests judge behaviour, not this machine's speed: on a loaded CI machine a reply can
    start seconds late, which the reply runner's overload admission would (rightly) refuse. The tests
    of admission set these back themselves; tests of real processes run with the real settings."""
    settings.REPLY_ADMISSION_MAX_WAIT_S = 30.0
    settings.REPLY_ADMISSION_WINDOW_S = 0.0
    settings.REPLY_ADMISSION_MAX_STARTING = 0


@pytest.fixture(scope="session", autouse=True)
def embeddings_exported():
    """The embedding model's ONNX export, made before any test as `manage.py serve` makes it before its
    processes start (in its own process; kept between runs in the shared test cache, see settings)."""
    from trainer_app.engines.embeddings import embeddings_export_ensure

    embeddings_export_ensure()


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session", autouse=True)
def _postgres_sessions_ended_before_teardown(request):
    """Production lane: end every other session on the test database before pytest-django drops it.

    Why: in-process reply runners keep their pool threads, and with CONN_MAX_AGE each thread keeps its
    connection; a process a test started may also still be closing. PostgreSQL refuses to drop a
    database others use, so the lane ended with a teardown warning and left ``test_test`` behind."""
    if LANE != "production" or getattr(request.config, "_production_lane_skip", None):
        yield
        return
    request.getfixturevalue("django_db_setup")  # set up before this fixture, so torn down after it
    yield
    from django.db import connection

    django_db_blocker = request.getfixturevalue("django_db_blocker")
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(scope="session")
def process_logs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("process-logs")


@pytest.fixture
def celery_worker_process(transactional_db, process_logs):
    """A real Celery worker process on the lane's broker, sharing the test database."""
    from tests.support import processes

    proc = processes.start_worker(log_path=process_logs / "worker.log")
    try:
        processes.wait_for_worker(proc)
        yield proc
    finally:
        processes.stop(proc)


@pytest.fixture(scope="session")
def live_processes(django_db_setup, django_db_blocker, tmp_path_factory):
    """daphne and a Celery worker, started once per test run, as `make run` starts them."""
    from tests.support import processes

    logs = tmp_path_factory.mktemp("live-processes")
    port = processes.free_port()
    with django_db_blocker.unblock():
        worker = processes.start_worker(log_path=logs / "worker.log", WORKER_HEARTBEAT_SECONDS="1")
        web = processes.start_web(port=port, log_path=logs / "web.log")
        try:
            processes.wait_for_worker(worker)
        except Exception:
            processes.stop(web)
            processes.stop(worker)
            raise
    yield {"url": f"http://127.0.0.1:{port}", "web": web, "worker": worker, "logs": logs}
    processes.stop(web)
    processes.stop(worker)


@pytest.fixture
def live_app(transactional_db, live_processes):
    """Base URL of the live app; the test's data is committed so both processes see it."""
    for name in ("web", "worker"):
        if live_processes[name].poll() is not None:
            pytest.fail(f"the live {name} process has exited; see {live_processes['logs']}")
    return live_processes["url"]


@pytest.fixture(autouse=True)
def _outage_log_reset():
    """An outage is logged once a minute per kind (trainer_app.outages): each test starts with none logged."""
    from trainer_app.outages import outage_log_reset

    outage_log_reset()
