"""ASGI entry point: HTTP to Django, websockets through auth and an Origin check."""

import os
import sys

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trainer_app.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from trainer_app.asgi_limits import RequestBodyLimit  # noqa: E402
from trainer_app.routing import websocket_urlpatterns  # noqa: E402

# The event loop shares the GIL with the threads that generate replies; by default a
# busy thread keeps it for up to 5 ms before the loop may send what is ready.
sys.setswitchinterval(settings.GIL_SWITCH_INTERVAL_S)

if os.environ.get("ENGINES_WARM_ON_START") == "1":
    # Served processes load the persona models at start, not on the first reply.
    from simulations.consumers import warm_up_in_background  # noqa: E402

    warm_up_in_background()

application = ProtocolTypeRouter(
    {
        "http": RequestBodyLimit(django_asgi_app, max_bytes=settings.REQUEST_BODY_MAX_BYTES,
                             path_limits={"/recordings/upload/": settings.RECORDING_MAX_BYTES + 1024 * 1024}),
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
