"""ASGI entry point: HTTP to Django, websockets through auth and an Origin check,
and the lifespan: start-up warms the engines before the server takes requests
(``simulations/services/warm_up.py``), shutdown cancels replies being generated."""

import asyncio
import logging
import os
import sys

from django.core.asgi import get_asgi_application

from trainer_app.import_watch import import_watch_from_env

import_watch_from_env()  # IMPORT_WATCH=torch,...: say so if this process imports one (off by default)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trainer_app.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from trainer_app.asgi_limits import RequestBodyLimit  # noqa: E402
from trainer_app.engines.blas import blas_threads_limit  # noqa: E402
from trainer_app.routing import websocket_urlpatterns  # noqa: E402

# The event loop shares the GIL with the threads that generate replies; by default a
# busy thread keeps it for up to 5 ms before the loop may send what is ready.
sys.setswitchinterval(settings.GIL_SWITCH_INTERVAL_S)
# numpy's BLAS threads busy-wait between calls: beside the event loop, the reply threads and ONNX Runtime
# they only take CPU away (trainer_app.engines.blas).
blas_threads_limit()

logger = logging.getLogger(__name__)

router = ProtocolTypeRouter(
    {
        "http": RequestBodyLimit(django_asgi_app, max_bytes=settings.REQUEST_BODY_MAX_BYTES,
                             path_limits={"/recordings/upload/": settings.RECORDING_MAX_BYTES + 1024 * 1024}),
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)


async def lifespan(scope, receive, send) -> None:
    """The one start-up hook (uvicorn ``--lifespan on``): nothing is served, /healthz included,
    until the engines are warm; shutdown cancels this process's reply generations."""
    from simulations.services.reply_runner import reply_runner_stop
    from simulations.services.warm_up import engines_warm_up

    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            if settings.ENGINES_WARM_ON_START:
                try:
                    await asyncio.to_thread(engines_warm_up)
                except Exception:  # the app still serves, with engines warming on first use
                    logger.exception("engine warm-up failed")
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            reply_runner_stop()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def application(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        await lifespan(scope, receive, send)
        return
    await router(scope, receive, send)
