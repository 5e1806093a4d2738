"""Make sure the role groups exist after migrations; remove a voice enrolment's clip with it."""

from django.db import transaction
from django.db.models.signals import post_delete, post_migrate
from django.dispatch import receiver


@receiver(post_migrate)
def role_groups_ensure(sender, **kwargs) -> None:
    if getattr(sender, "name", "") != "trainer_app":
        return
    from django.contrib.auth.models import Group

    from trainer_app.roles import ROLES

    for role in ROLES:
        Group.objects.get_or_create(name=role)


@receiver(post_delete, sender="trainer_app.VoiceEnrolment")
def voice_enrolment_audio_remove(sender, instance, **kwargs) -> None:
    """A deleted enrolment (also by a deleted user's cascade) takes its clip with it, once committed."""
    if not instance.audio:
        return
    storage, name = instance.audio.storage, instance.audio.name
    transaction.on_commit(lambda: storage.delete(name))
