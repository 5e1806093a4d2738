"""Roles are Django groups; who may see whom is decided here and nowhere else."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group
from django.db.models import QuerySet

TRAINEE = "trainee"
INSTRUCTOR = "instructor"
ADMIN = "admin"
ROLES = (TRAINEE, INSTRUCTOR, ADMIN)


def user_role(*, user: AbstractBaseUser | AnonymousUser) -> str | None:
    """The user's highest role: admin > instructor > trainee (None if none)."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return ADMIN
    names = set(getattr(user, "_role_names", None) or user.groups.values_list("name", flat=True))
    user._role_names = names  # cached for the request
    for role in (ADMIN, INSTRUCTOR, TRAINEE):
        if role in names:
            return role
    return None


def user_is_admin(*, user) -> bool:
    return user_role(user=user) == ADMIN


def user_is_instructor(*, user) -> bool:
    """Instructor or admin (admins may do everything an instructor may)."""
    return user_role(user=user) in (INSTRUCTOR, ADMIN)


def user_role_set(*, user, role: str) -> None:
    """Give the user exactly this role (admins are also staff, for Django admin)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    groups = {name: Group.objects.get_or_create(name=name)[0] for name in ROLES}
    user.groups.remove(*[groups[r] for r in ROLES if r != role])
    user.groups.add(groups[role])
    user.is_staff = role == ADMIN
    user.save(update_fields=["is_staff"])
    if hasattr(user, "_role_names"):
        del user._role_names


def trainees_visible_to(*, user) -> QuerySet:
    """Trainees whose work this user may see: self; an instructor's cohorts; everyone for admins."""
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.all()
    role = user_role(user=user)
    if role == ADMIN:
        return users
    if role == INSTRUCTOR:
        return users.filter(cohorts__owner=user).distinct()
    if role == TRAINEE:
        return users.filter(pk=user.pk)
    return users.none()


def user_can_view_trainee(*, user, trainee_id: int) -> bool:
    if not user.is_authenticated:
        return False
    if user.pk == trainee_id:
        return True
    return trainees_visible_to(user=user).filter(pk=trainee_id).exists()
