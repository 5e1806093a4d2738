from django.urls import path

from feedback.consumers import RecordingProgressConsumer

websocket_urlpatterns: list = [
    path("ws/recordings/<int:recording_id>/", RecordingProgressConsumer.as_asgi()),
]
