from django.urls import path

from feedback.views import analytics, debrief, frameworks, recordings, review

app_name = "feedback"
urlpatterns: list = [
    # Framework authoring (admins); under /author/ next to simulations' authoring pages.
    path("author/frameworks/", frameworks.framework_list_view, name="author_framework_list"),
    path("author/frameworks/<slug:slug>/", frameworks.framework_detail, name="author_framework_detail"),
    path("author/frameworks/<slug:slug>/exemplars/new/", frameworks.exemplar_create_view, name="author_exemplar_create"),
    path("author/frameworks/<slug:slug>/exemplars/<int:pk>/edit/", frameworks.exemplar_edit_view, name="author_exemplar_edit"),
    path("author/frameworks/<slug:slug>/exemplars/<int:pk>/delete/", frameworks.exemplar_delete_view, name="author_exemplar_delete"),
    # Debrief (trainee, their instructors, admins)
    path("practice/sessions/<int:session_id>/debrief/", debrief.debrief, name="debrief"),
    path("practice/sessions/<int:session_id>/debrief.md", debrief.debrief_download, {"fmt": "md"}, name="debrief_markdown"),
    path("practice/sessions/<int:session_id>/debrief.json", debrief.debrief_download, {"fmt": "json"}, name="debrief_json"),
    path("practice/sessions/<int:session_id>/debrief/formulation/", debrief.formulation_worksheet, name="debrief_formulation"),
    # Instructor review
    path("review/sessions/<int:session_id>/", review.review_session, name="review_session"),
    path("review/sessions/<int:session_id>/items/<int:item_id>/", review.review_item, name="review_item"),
    path("review/sessions/<int:session_id>/release/", review.review_release, name="review_release"),
    path("review/sessions/<int:session_id>/turns/<int:turn_id>/comments/", review.review_comment, name="review_comment"),
    path("practice/sessions/<int:session_id>/turns/<int:turn_id>/audio/", review.turn_audio, name="turn_audio"),
    # Analytics (instructors: their cohorts; admins: all); the trainee profile also for the trainee
    path("cohorts/<int:cohort_id>/", analytics.cohort_dashboard, name="cohort_dashboard"),
    path("cohorts/<int:cohort_id>/report/", analytics.cohort_report, name="cohort_report"),
    path("cohorts/<int:cohort_id>/export/<slug:table>.csv", analytics.cohort_export, name="cohort_export"),
    path("trainees/<int:trainee_id>/", analytics.trainee_profile, name="trainee_profile"),
    path("overview/", analytics.admin_overview, name="admin_overview"),
    # Recording analysis (instructors and admins; cohort-scoped)
    path("recordings/", recordings.recording_list, name="recording_list"),
    path("recordings/upload/", recordings.recording_upload, name="recording_upload"),
    path("recordings/<int:recording_id>/", recordings.recording_detail, name="recording_detail"),
    path("recordings/<int:recording_id>/progress/", recordings.recording_progress_view, name="recording_progress"),
    path("recordings/<int:recording_id>/audio/", recordings.recording_audio, name="recording_audio"),
    path("recordings/<int:recording_id>/retry/", recordings.recording_retry, name="recording_retry"),
    path("recordings/<int:recording_id>/delete/", recordings.recording_delete, name="recording_delete"),
    path("recordings/<int:recording_id>/framework/", recordings.recording_framework, name="recording_framework"),
    path("recordings/<int:recording_id>/speakers/<int:speaker_id>/rename/", recordings.speaker_rename, name="recording_speaker_rename"),
    path("recordings/<int:recording_id>/speakers/<int:speaker_id>/merge/", recordings.speaker_merge, name="recording_speaker_merge"),
    path("recordings/<int:recording_id>/segments/<int:segment_id>/speaker/", recordings.segment_reassign, name="recording_segment_reassign"),
    path("recordings/<int:recording_id>/segments/<int:segment_id>/restore/", recordings.segment_restore, name="recording_segment_restore"),
    path("recordings/<int:recording_id>/items/<int:item_id>/", recordings.recording_item_review_view, name="recording_item_review"),
    path("recordings/<int:recording_id>/export.<str:fmt>", recordings.recording_export, name="recording_export"),
]
