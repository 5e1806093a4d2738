"""Websocket routes of every app (only the wiring looks at every app)."""

from feedback.routing import websocket_urlpatterns as feedback_routes
from simulations.routing import websocket_urlpatterns as simulations_routes

websocket_urlpatterns = [
    *simulations_routes,
    *feedback_routes,
]
