"""View guards. Each denies with 403 (logged-in but not allowed) or redirects to login."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from trainer_app.roles import user_is_admin, user_is_instructor


def instructor_required(view):
    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not user_is_instructor(user=request.user):
            raise PermissionDenied("Only instructors may open this page.")
        return view(request, *args, **kwargs)

    return wrapped


def admin_required(view):
    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not user_is_admin(user=request.user):
            raise PermissionDenied("Only admins may open this page.")
        return view(request, *args, **kwargs)

    return wrapped
