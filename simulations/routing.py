from django.urls import path

from simulations.consumers import PracticeSessionConsumer

websocket_urlpatterns: list = [
    path("ws/practice/<int:session_id>/", PracticeSessionConsumer.as_asgi()),
]
