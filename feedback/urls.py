from django.urls import path

from feedback.views import frameworks

app_name = "feedback"
urlpatterns: list = [
    # Framework authoring (admins); under /author/ next to simulations' authoring pages.
    path("author/frameworks/", frameworks.framework_list_view, name="author_framework_list"),
    path("author/frameworks/<slug:slug>/", frameworks.framework_detail, name="author_framework_detail"),
    path("author/frameworks/<slug:slug>/exemplars/new/", frameworks.exemplar_create_view, name="author_exemplar_create"),
    path("author/frameworks/<slug:slug>/exemplars/<int:pk>/edit/", frameworks.exemplar_edit_view, name="author_exemplar_edit"),
    path("author/frameworks/<slug:slug>/exemplars/<int:pk>/delete/", frameworks.exemplar_delete_view, name="author_exemplar_delete"),
]
