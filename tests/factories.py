"""Factories shared by the tests (factory-boy)."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from trainer_app.models import Cohort
from trainer_app.roles import user_role_set

TEST_PASSWORD = "a-Strong-test-passw0rd"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def assign_role(obj, create, extracted, **kwargs):
        obj.save()
        if create:
            user_role_set(user=obj, role=obj._role if hasattr(obj, "_role") else "trainee")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        role = kwargs.pop("role", "trainee")
        obj = super()._create(model_class, *args, **kwargs)
        obj._role = role
        return obj


class CohortFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cohort
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Cohort {n}")
    owner = factory.SubFactory(UserFactory, role="instructor")

    @factory.post_generation
    def members(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.members.add(*extracted)


# --- Content: personas, scenarios (with a version), frameworks, exemplars ---------------


def persona_pack_data(slug: str, name: str = "Maya") -> dict:
    """A small valid cbt-patient persona in pack format."""
    return {
        "slug": slug,
        "kind": "cbt-patient",
        "name": name,
        "summary": "34, nurse, low mood since a move.",
        "style": "reserved",
        "cognitive_model": {
            "history": "Grew up with a critical father.",
            "core_beliefs": ["I am incompetent"],
            "intermediate_beliefs": "If I don't do everything perfectly, people will see I can't cope.",
            "coping_strategies": "Overworks.",
            "situations": [
                {
                    "description": "A colleague corrected her drug chart.",
                    "automatic_thoughts": "They think I'm dangerous.",
                    "emotions": ["ashamed"],
                    "behaviour": "Went quiet.",
                }
            ],
        },
        "facts": [{"level": "core_beliefs", "text": "SECRET-FACT: she failed an exam at 19."}],
    }


class PersonaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "simulations.Persona"

    slug = factory.Sequence(lambda n: f"persona-{n}")
    kind = "cbt-patient"
    name = factory.Sequence(lambda n: f"Persona {n}")
    data = factory.LazyAttribute(lambda o: persona_pack_data(o.slug, o.name))


class FrameworkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "feedback.Framework"

    slug = factory.Sequence(lambda n: f"framework-{n}")
    kind = "skill-rubric"
    name = factory.Sequence(lambda n: f"Framework {n}")
    data = factory.LazyFunction(
        lambda: {
            "description": "Asking for what you want.",
            "labels": ["strong", "weak", "absent"],
            "skills": [
                {"slug": "describe", "name": "Describe", "definition": "Plain facts."},
                {"slug": "assert", "name": "Assert", "definition": "Ask clearly."},
            ],
        }
    )


class ExemplarFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "feedback.Exemplar"

    framework = factory.SubFactory(FrameworkFactory)
    skill = "describe"
    label = "strong"
    utterance = factory.Sequence(lambda n: f"For the last {n} months I've covered the evening shift.")
    feedback = "Clear and factual."
    position = factory.Sequence(lambda n: n)


class ScenarioFactory(factory.django.DjangoModelFactory):
    """A scenario with version 1 (and its frameworks' slugs). Pass
    ``frameworks=[slug, ...]`` to name installed frameworks; by default one is made."""

    class Meta:
        model = "simulations.Scenario"
        skip_postgeneration_save = True

    slug = factory.Sequence(lambda n: f"scenario-{n}")
    title = factory.Sequence(lambda n: f"Scenario {n}")
    persona = factory.SubFactory(PersonaFactory)

    @factory.post_generation
    def frameworks(obj, create, extracted, **kwargs):
        from simulations.models import ScenarioVersion

        if not create:
            return
        slugs = list(extracted) if extracted else [FrameworkFactory().slug]
        data = {
            "slug": obj.slug,
            "title": obj.title,
            "persona": obj.persona.slug,
            "frameworks": slugs,
            "brief": f"Brief of {obj.title}.",
            "learning_objectives": ["Build rapport"],
            "difficulty": {"level": "medium"},
            "opening_line": "Hi. I'm not sure what to say.",
            "time_limit_minutes": 20,
        }
        version = ScenarioVersion.objects.create(
            scenario=obj, number=1, scenario_data=data, persona_data=obj.persona.data, framework_slugs=slugs
        )
        obj.current_version = version
        obj.save(update_fields=["current_version"])

    @factory.post_generation
    def cohorts(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.cohorts.add(*extracted)
