"""Validation of personas (docs/scenario-packs.md, "Personas")."""

from __future__ import annotations

from simulations.cognitive_model import ALL_CORE_BELIEFS, EMOTIONS
from simulations.packs.checks import (
    Errors,
    check_enum,
    check_list,
    check_mapping,
    check_number,
    check_slug,
    check_text,
    check_text_list,
    check_unique,
    join,
    show,
)
from simulations.packs.schema import (
    LEVELS,
    PERSONA_KIND_SECTION,
    PERSONA_KINDS,
    PERSONA_STYLES,
    REPLY_MOODS,
    VOICE_GENDERS,
)

COMMON_REQUIRED = ("slug", "kind", "name", "summary")
COMMON_OPTIONAL = ("style", "style_instruction", "voice", "facts", "script")


def persona_validate(*, item, path: str, errors: Errors) -> None:
    """Validate one persona; ``path`` is its location ("personas[2]", or "" in the authoring form)."""
    kind = item.get("kind") if isinstance(item, dict) else None
    own_section = PERSONA_KIND_SECTION.get(kind) if isinstance(kind, str) else None
    required = COMMON_REQUIRED + ((own_section,) if own_section else ())
    optional = COMMON_OPTIONAL + tuple(s for s in PERSONA_KIND_SECTION.values() if s != own_section)
    if check_mapping(item, path, errors, required=required, optional=optional) is None:
        return
    if "slug" in item:
        check_slug(item["slug"], join(path, "slug"), errors)
    if "kind" in item:
        check_enum(kind, join(path, "kind"), errors, choices=PERSONA_KINDS)
    for key in ("name", "summary"):
        if key in item:
            check_text(item[key], join(path, key), errors)
    style = item.get("style")
    if "style" in item:
        check_enum(style, join(path, "style"), errors, choices=PERSONA_STYLES)
    if "style_instruction" in item:
        check_text(item["style_instruction"], join(path, "style_instruction"), errors, required=False)
    if style == "custom" and not (isinstance(item.get("style_instruction"), str) and item["style_instruction"].strip()):
        errors.add(join(path, "style_instruction"), "is required when style is custom (say how the persona speaks)")
    if "voice" in item:
        _voice(item["voice"], join(path, "voice"), errors)
    if "facts" in item:
        for i, fact in enumerate(check_list(item["facts"], join(path, "facts"), errors)):
            fact_validate(item=fact, path=join(join(path, "facts"), i), errors=errors)
    for other_kind, section in PERSONA_KIND_SECTION.items():
        if section in item and section != own_section and own_section:
            errors.add(join(path, section), f"only {other_kind} personas have this (this persona is a {kind})")
    if own_section and own_section in item:
        validator = {"cognitive_model": cognitive_model_validate, "partner": partner_validate, "client": client_validate}
        validator[own_section](item=item[own_section], path=join(path, own_section), errors=errors)
    if "script" in item:
        script_validate(item=item["script"], path=join(path, "script"), errors=errors)


def _voice(value, path: str, errors: Errors) -> None:
    if check_mapping(value, path, errors, optional=("lang", "gender", "pitch", "rate")) is None:
        return
    if "lang" in value:
        check_text(value["lang"], join(path, "lang"), errors, max_chars=35)
    if "gender" in value:
        check_enum(value["gender"], join(path, "gender"), errors, choices=VOICE_GENDERS)
    # The browser's speechSynthesis accepts pitch 0..2 and rate 0.1..10.
    if "pitch" in value:
        check_number(value["pitch"], join(path, "pitch"), errors, low=0, high=2)
    if "rate" in value:
        check_number(value["rate"], join(path, "rate"), errors, low=0.1, high=10)


def fact_validate(*, item, path: str, errors: Errors) -> None:
    if check_mapping(item, path, errors, required=("level", "text")) is None:
        return
    if "level" in item:
        check_enum(item["level"], join(path, "level"), errors, choices=LEVELS)
    if "text" in item:
        check_text(item["text"], join(path, "text"), errors)


def cognitive_model_validate(*, item, path: str, errors: Errors) -> None:
    required = ("history", "core_beliefs", "intermediate_beliefs", "coping_strategies", "situations")
    if check_mapping(item, path, errors, required=required, optional=("intermediate_beliefs_during_depression",)) is None:
        return
    for key in ("history", "intermediate_beliefs", "coping_strategies"):
        if key in item:
            check_text(item[key], join(path, key), errors)
    if "intermediate_beliefs_during_depression" in item:
        check_text(item["intermediate_beliefs_during_depression"], join(path, "intermediate_beliefs_during_depression"),
                   errors, required=False)
    if "core_beliefs" in item:
        beliefs_path = join(path, "core_beliefs")
        for i, belief in enumerate(check_list(item["core_beliefs"], beliefs_path, errors, min_items=1)):
            if belief not in ALL_CORE_BELIEFS:
                errors.add(join(beliefs_path, i), f"{show(belief)} is not one of the 19 core beliefs")
    if "situations" in item:
        situations_path = join(path, "situations")
        for i, situation in enumerate(check_list(item["situations"], situations_path, errors, min_items=1)):
            situation_path = join(situations_path, i)
            keys = ("description", "automatic_thoughts", "emotions", "behaviour")
            if check_mapping(situation, situation_path, errors, required=keys) is None:
                continue
            for key in ("description", "automatic_thoughts", "behaviour"):
                if key in situation:
                    check_text(situation[key], join(situation_path, key), errors)
            if "emotions" in situation:
                emotions_path = join(situation_path, "emotions")
                for j, emotion in enumerate(check_list(situation["emotions"], emotions_path, errors, min_items=1)):
                    if emotion not in EMOTIONS:
                        errors.add(join(emotions_path, j), f"{show(emotion)} is not one of the 9 emotions ({', '.join(EMOTIONS)})")


def partner_validate(*, item, path: str, errors: Errors) -> None:
    lists = ("objections", "calmed_by", "inflamed_by")
    if check_mapping(item, path, errors, required=("relationship", "wants"), optional=lists) is None:
        return
    for key in ("relationship", "wants"):
        if key in item:
            check_text(item[key], join(path, key), errors)
    for key in lists:
        if key in item:
            check_text_list(item[key], join(path, key), errors)


def client_validate(*, item, path: str, errors: Errors) -> None:
    optional = ("reasons_for_change", "reasons_against_change", "change_talk_tendency")
    if check_mapping(item, path, errors, required=("target_behaviour",), optional=optional) is None:
        return
    if "target_behaviour" in item:
        check_text(item["target_behaviour"], join(path, "target_behaviour"), errors)
    for key in ("reasons_for_change", "reasons_against_change"):
        if key in item:
            check_text_list(item[key], join(path, key), errors)
    if "change_talk_tendency" in item:
        check_number(item["change_talk_tendency"], join(path, "change_talk_tendency"), errors, low=0, high=1)


def script_validate(*, item, path: str, errors: Errors) -> None:
    topics = check_list(item, path, errors)
    names = []
    for i, topic in enumerate(topics):
        topic_path = join(path, i)
        if check_mapping(topic, topic_path, errors, required=("topic", "prompts", "replies"), optional=("level",)) is None:
            continue
        if "topic" in topic:
            names.append((join(topic_path, "topic"), check_text(topic["topic"], join(topic_path, "topic"), errors, max_chars=80)))
        if "prompts" in topic:
            check_text_list(topic["prompts"], join(topic_path, "prompts"), errors, min_items=1)
        if "level" in topic:
            check_enum(topic["level"], join(topic_path, "level"), errors, choices=LEVELS)
        if "replies" in topic:
            replies_path = join(topic_path, "replies")
            for j, reply in enumerate(check_list(topic["replies"], replies_path, errors, min_items=1)):
                reply_path = join(replies_path, j)
                if check_mapping(reply, reply_path, errors, required=("text",), optional=("level", "mood")) is None:
                    continue
                if "level" in reply:
                    check_enum(reply["level"], join(reply_path, "level"), errors, choices=LEVELS)
                if "mood" in reply:
                    check_enum(reply["mood"], join(reply_path, "mood"), errors, choices=REPLY_MOODS)
                if "text" in reply:
                    check_text(reply["text"], join(reply_path, "text"), errors)
    check_unique(names, errors, what="topic")
