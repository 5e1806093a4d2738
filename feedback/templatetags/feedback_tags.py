from django import template

register = template.Library()


@register.filter
def skill_name(framework, skill: str) -> str:
    return framework.skill_name(skill) if framework is not None else skill


@register.filter
def score_pct(value) -> str:
    return "–" if value is None else f"{round(float(value) * 100)}%"


@register.filter
def answer_text(value) -> str:
    """A worksheet answer: text, or the chosen items of a checkbox list."""
    return ", ".join(value) if isinstance(value, (list, tuple)) else str(value)


@register.filter
def mmss(seconds) -> str:
    """Seconds as m:ss (a comment's time in the session)."""
    try:
        total = max(0, int(round(float(seconds))))
    except (TypeError, ValueError):
        return ""
    return f"{total // 60}:{total % 60:02d}"


@register.simple_tag(takes_context=True)
def review_form(context, eff):
    """The "Correct…" form of one review item: the posted form when it was this
    item's and had errors, else an empty one with the skill's labels."""
    from feedback.forms.review import ReviewCorrectionForm

    bound = context.get("review_form_bound")
    if bound is not None and bound.item_id == eff.item.pk:
        return bound
    return ReviewCorrectionForm(labels=eff.choices, current_label=eff.label, item_id=eff.item.pk)
