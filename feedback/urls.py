from django.urls import path

from feedback.views import debrief, frameworks, review

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
]
