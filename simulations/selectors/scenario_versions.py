"""A scenario version read once per process: the persona a reply is generated for.

Why: every reply read its session's scenario version (a JOIN, and ~20 KB of persona JSON
decoded: ~0.25 ms of CPU a turn on a 2-core machine), although a version is an immutable
snapshot (editing a scenario makes a new version). Kept per process, the same persona dict
also serves as its own cache key downstream (``topics.script_content_hash``).

The copy is shared by the reply threads: read only. A version saved or deleted in this
process (tests edit one in place) is dropped from the cache.
"""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save

from simulations.models import ScenarioVersion
from trainer_app.kept_results import KeptResults

# versions played recently; one is ~100-200 KB of Python objects
_versions: KeptResults[int, ScenarioVersion] = KeptResults(size=256)


def scenario_version_cached(*, version_id: int) -> ScenarioVersion:
    version = _versions.get(version_id)
    if version is None:
        version = ScenarioVersion.objects.get(pk=version_id)
        _versions.put(version_id, version)
    return version


def _forget(sender, instance: ScenarioVersion, **kwargs) -> None:
    _versions.discard(instance.pk)


post_save.connect(_forget, sender=ScenarioVersion, dispatch_uid="simulations.scenario_version_cached.save")
post_delete.connect(_forget, sender=ScenarioVersion, dispatch_uid="simulations.scenario_version_cached.delete")
