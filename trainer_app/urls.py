from django.contrib import admin
from django.urls import include, path

from trainer_app import views, views_voice
from trainer_app.privacy import views as privacy_views

handler500 = "trainer_app.error_pages.server_error"  # 503 for an outage raised outside a view

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("cohorts/", views.cohorts, name="cohorts"),
    path("cohorts/<int:cohort_id>/exam-choice/", views.cohort_exam_choice, name="cohort_exam_choice"),
    path("healthz", views.healthz, name="healthz"),
    path("health/", views.health_page, name="health"),
    path("accounts/privacy/", privacy_views.privacy_page, name="privacy"),
    path("accounts/privacy/consent/", privacy_views.privacy_consent, name="privacy_consent"),
    path("accounts/privacy/export/", privacy_views.privacy_export, name="privacy_export"),
    path("people/", privacy_views.people_list, name="people"),
    path("people/<int:user_id>/delete/", privacy_views.person_erase_view, name="person_erase"),
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
