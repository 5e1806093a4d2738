"""Feedback subscribes to simulations events here (wired in FeedbackConfig.ready).

Keep this a list of small registrations; append yours below."""

from feedback import packs as _packs
from feedback.selectors.frameworks import framework_choices, framework_exists
from simulations.packs.registry import pack_section_register

# Scenario packs: frameworks (with exemplars) are feedback's section.
pack_section_register(
    name="frameworks",
    order=10,
    validate=_packs.frameworks_validate,
    import_=_packs.frameworks_import,
    export=_packs.frameworks_export,
    exists=lambda *, slug: framework_exists(slug=slug),
    choices=framework_choices,
)
