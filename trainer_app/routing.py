"""Websocket routes of every app (only the wiring looks at every app)."""

from simulations.routing import websocket_urlpatterns as simulations_routes

websocket_urlpatterns = [
    *simulations_routes,
]
