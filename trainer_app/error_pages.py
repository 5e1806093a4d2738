"""The 500 page, and a 503 for an outage (the database connection, Redis, the broker) instead of it.

Both render with no request, as Django's own ``server_error`` does: no context processor (the
role lookup queries the database), no session, no user; if even that fails, a fixed page.
``ServiceUnavailableMiddleware`` answers an outage raised in a view with one warning line and
the 503 page (no traceback per request while the database is away); ``server_error`` (handler500)
does the same for one raised in a middleware, and serves 500.html for everything else.
"""

from __future__ import annotations

import logging
import sys

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader

from trainer_app.outages import is_outage, outage_warn

logger = logging.getLogger(__name__)

UNAVAILABLE_MESSAGE = "The service is briefly unavailable; try again in a few seconds."
RETRY_AFTER_S = 5
_FALLBACK = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>"
             "<body><h1>{title}</h1><p>{text}</p></body></html>")


def _page(*, template: str, status: int, title: str, text: str) -> HttpResponse:
    try:
        body = loader.get_template(template).render()
    except Exception:  # the error page must not fail in turn
        logger.warning("error page %s could not be rendered; serving the fixed one", template, exc_info=True)
        body = _FALLBACK.format(title=title, text=text)
    return HttpResponse(body, status=status, content_type="text/html; charset=utf-8")


def _wants_json(request: HttpRequest | None) -> bool:
    accept = request.headers.get("Accept", "") if request is not None else ""
    return "application/json" in accept and "text/html" not in accept


def service_unavailable(request: HttpRequest | None = None) -> HttpResponse:
    if _wants_json(request):
        response = JsonResponse({"error": "unavailable", "message": UNAVAILABLE_MESSAGE}, status=503)
    else:
        response = _page(template="503.html", status=503, title="Briefly unavailable", text=UNAVAILABLE_MESSAGE)
    response["Retry-After"] = str(RETRY_AFTER_S)
    response["Cache-Control"] = "no-store"
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: called while the exception is being handled (sys.exc_info() holds it)."""
    if is_outage(sys.exc_info()[1]):
        return service_unavailable(request)
    return _page(template="500.html", status=500, title="Something went wrong",
                 text="The page could not be shown. Please try again.")


class ServiceUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_outage(exception):
            return None  # a bug: Django logs it with its traceback and serves the 500 page
        outage_warn(what="web request", exc=exception, log=logger)
        return service_unavailable(request)
