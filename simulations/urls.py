from django.urls import path

from simulations.views import authoring, practice
from simulations.views import sessions as session_views

app_name = "simulations"
urlpatterns: list = [
    # Trainee side
    path("practice/scenarios/<slug:slug>/", practice.scenario_brief, name="scenario_brief"),
    # Authoring (admins)
    path("author/", authoring.author_home, name="author_home"),
    path("author/scenarios/", authoring.scenario_list_view, name="author_scenario_list"),
    path("author/scenarios/new/", authoring.scenario_create, name="author_scenario_create"),
    path("author/scenarios/<slug:slug>/edit/", authoring.scenario_edit, name="author_scenario_edit"),
    path("author/scenarios/<slug:slug>/duplicate/", authoring.scenario_duplicate_view, name="author_scenario_duplicate"),
    path("author/scenarios/<slug:slug>/preview/", authoring.scenario_preview, name="author_scenario_preview"),
    path("author/scenarios/<slug:slug>/try/", authoring.scenario_try, name="author_scenario_try"),
    path("author/personas/", authoring.persona_list_view, name="author_persona_list"),
    path("author/personas/new/", authoring.persona_create, name="author_persona_create"),
    path("author/personas/<slug:slug>/edit/", authoring.persona_edit, name="author_persona_edit"),
    path("author/personas/<slug:slug>/duplicate/", authoring.persona_duplicate_view, name="author_persona_duplicate"),
    path("author/packs/import/", authoring.pack_import_view, name="author_pack_import"),
    path("author/packs/export/", authoring.pack_export_view, name="author_pack_export"),
    # A session after it starts (session flow)
    path("practice/sessions/<int:pk>/", session_views.session_page, name="session_page"),
    path("practice/sessions/<int:pk>/voice/", session_views.session_voice, name="session_voice"),
    path("practice/sessions/<int:pk>/end/", session_views.session_end, name="session_end"),
]
