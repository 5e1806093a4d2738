from django.contrib import admin
from django.urls import include, path

from trainer_app import views

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("cohorts/", views.cohorts, name="cohorts"),
    path("cohorts/<int:cohort_id>/exam-choice/", views.cohort_exam_choice, name="cohort_exam_choice"),
    path("healthz", views.healthz, name="healthz"),
    path("health/", views.health_page, name="health"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("", include("simulations.urls")),
    path("", include("feedback.urls")),
]
