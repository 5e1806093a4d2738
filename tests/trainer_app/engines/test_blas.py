"""numpy's BLAS thread policy (BLAS_THREADS): applied at run time to the already loaded library."""

from __future__ import annotations

import numpy as np  # noqa: F401  (loads numpy's BLAS)
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from trainer_app.engines.blas import blas_threads_limit

pytestmark = pytest.mark.timeout(30)


def _blas_threads() -> list[int]:
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


@pytest.fixture
def blas_restored():
    original = threadpool_limits(limits=None, user_api="blas")  # remembers the current limits
    threadpool_limits(limits=2, user_api="blas")
    yield
    original.restore_original_limits()


def test_blas_threads_default_to_one(settings, blas_restored):
    if not _blas_threads():
        pytest.skip("numpy is not linked to a BLAS library threadpoolctl can see")
    assert set(_blas_threads()) == {2}
    blas_threads_limit()
    assert set(_blas_threads()) == {1}


def test_blas_threads_zero_keeps_the_library_default(settings, blas_restored):
    if not _blas_threads():
        pytest.skip("numpy is not linked to a BLAS library threadpoolctl can see")
    settings.BLAS_THREADS = 0
    blas_threads_limit()
    assert set(_blas_threads()) == {2}


def test_every_worker_process_applies_it(settings, blas_restored):
    if not _blas_threads():
        pytest.skip("numpy is not linked to a BLAS library threadpoolctl can see")
    from celery.signals import worker_process_init, worker_ready

    from trainer_app import celery as celery_app

    for signal in (worker_ready, worker_process_init):  # a worker starting, and each prefork child
        assert celery_app._blas_threads_limit in signal._live_receivers(None)
    celery_app._blas_threads_limit()
    assert set(_blas_threads()) == {1}
