"""Websocket routes of every app (only the wiring looks at every app)."""

from django.urls import path

from feedback.routing import websocket_urlpatterns as feedback_routes
from simulations.routing import websocket_urlpatterns as simulations_routes
from trainer_app.consumers import NotificationConsumer

websocket_urlpatterns = [
    path("ws/notifications/", NotificationConsumer.as_asgi()),
    *simulations_routes,
    *feedback_routes,
]
