"""Login throttling on top of django-axes."""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend


class LoginThrottleBackend(AxesStandaloneBackend):
    """django-axes' check, for logins that come with a request (every web login).

    ``authenticate()`` without a request (management commands, the test client's
    ``login()``) has no address to throttle; it is left to the next backend instead
    of failing, as axes' own backend would."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
