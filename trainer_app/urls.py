from django.contrib import admin
from django.urls import include, path

from trainer_app import views, views_voice

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("cohorts/", views.cohorts, name="cohorts"),
    path("healthz", views.healthz, name="healthz"),
    path("health/", views.health_page, name="health"),
    path("accounts/voice/", views_voice.voice_enrolment, name="voice_enrolment"),
    path("accounts/voice/users/", views_voice.voice_enrolment_users, name="voice_enrolment_users"),
    path("accounts/voice/users/<int:user_id>/", views_voice.voice_enrolment_user, name="voice_enrolment_user"),
    path("accounts/voice/<int:enrolment_id>/status/", views_voice.voice_enrolment_status, name="voice_enrolment_status"),
    path("accounts/voice/<int:enrolment_id>/delete/", views_voice.voice_enrolment_remove, name="voice_enrolment_delete"),
    path("accounts/voice/<int:enrolment_id>/audio/", views_voice.voice_enrolment_audio, name="voice_enrolment_audio"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("", include("simulations.urls")),
    path("", include("feedback.urls")),
]
