"""Make sure the role groups exist after migrations."""

from django.db.models.signals import post_migrate
from django.dispatch import receiver


@receiver(post_migrate)
def role_groups_ensure(sender, **kwargs) -> None:
    if getattr(sender, "name", "") != "trainer_app":
        return
    from django.contrib.auth.models import Group

    from trainer_app.roles import ROLES

    for role in ROLES:
        Group.objects.get_or_create(name=role)
