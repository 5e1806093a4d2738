"""What the session page is sent: events of {"kind", "html", "data"}.

``html`` is htmx out-of-band swaps keyed by stable element ids, rendered by the
partials in ``templates/simulations/session/`` (no markup is built here or in the
page's script; a reply chunk carries only text in ``data``) (the page feeds
it to ``htmx.swap`` with swapStyle "none", the same handling the feedback app's
pushes get); ``data`` carries small JSON extras for the page's script. The same
events go through the channel layer group whether they come from the web
process or a Celery worker (``simulations.events.session_push``).

Stable ids: ``chat-log`` (the conversation), ``turn-<id>`` (a trainee turn),
``reply-<trainee turn id>`` (the persona's reply to it, while streaming and
once stored) with its text in ``reply-text-<trainee turn id>``,
``session-notice`` (errors and notices), ``voice-pending-<clip id>``.
"""

from __future__ import annotations

from django.template.loader import render_to_string

from simulations.models import Turn

_APPEND = "simulations/session/_push_append.html"  # a partial appended to the conversation
_DELETE = "simulations/session/_push_delete.html"  # an element removed


def turn_event(*, turn: Turn) -> dict:
    """A stored trainee turn, appended to the conversation."""
    html = render_to_string(_APPEND, {"turn": turn})
    return {"kind": "turn", "html": html, "data": {"turn_id": turn.pk, "client_id": turn.client_id}}


def reply_start_event(*, trainee_turn_id: int, text: str = "") -> dict:
    """The streaming reply's bubble (``_reply_streaming.html``, the one markup source for it),
    with the text streamed so far for a page that joins mid-stream."""
    html = render_to_string(_APPEND, {"streaming": True, "reply_for": trainee_turn_id, "text": text})
    return {"kind": "reply-start", "html": html, "data": {"reply_for": trainee_turn_id, "length": len(text)}}


def reply_chunk_event(*, trainee_turn_id: int, text: str, offset: int) -> dict:
    """No markup: the page appends ``text`` to ``#reply-text-<id>`` as text, skipping what it
    already has (``offset``: where ``text`` starts in the reply; a page that joined mid-stream
    already holds the start)."""
    return {"kind": "reply-chunk", "html": "", "data": {"reply_for": trainee_turn_id, "offset": offset, "text": text}}


def reply_done_event(*, reply: Turn) -> dict:
    """``html`` replaces the streaming bubble with the stored reply; ``data.append_html`` is the
    same partial appended, for a page that never saw the bubble (it reconnected meanwhile)."""
    return {
        "kind": "reply-done",
        "html": render_to_string("simulations/session/_turn.html", {"turn": reply, "replace": True}),
        "data": {
            "reply_for": reply.reply_to_id, "turn_id": reply.pk, "text": reply.text,
            "append_html": render_to_string(_APPEND, {"turn": reply}),
        },
    }


def reply_cancelled_event(*, trainee_turn_id: int) -> dict:
    html = render_to_string(_DELETE, {"element_id": f"reply-{trainee_turn_id}"})
    return {"kind": "reply-cancelled", "html": html, "data": {"reply_for": trainee_turn_id}}


def notice_html(*, message: str, level: str = "error", retry: bool = False) -> str:
    return render_to_string(
        "simulations/session/_notice.html", {"message": message, "level": level, "retry": retry, "oob": True}
    )


def notice_event(*, message: str, level: str = "error", retry: bool = False, extra_html: str = "") -> dict:
    return {
        "kind": "notice",
        "html": notice_html(message=message, level=level, retry=retry) + extra_html,
        "data": {"message": message, "level": level},
    }


def voice_pending_delete_html(*, clip_id: int) -> str:
    return render_to_string(_DELETE, {"element_id": f"voice-pending-{clip_id}"})


def transcript_event(*, turn: Turn, clip_id: int) -> dict:
    event = turn_event(turn=turn)
    return {
        "kind": "transcript",
        "html": voice_pending_delete_html(clip_id=clip_id) + event["html"],
        "data": {**event["data"], "clip_id": clip_id},
    }


def ended_event(*, session_id: int, debrief_url: str) -> dict:
    html = notice_html(message="This session has ended.", level="info")
    return {"kind": "ended", "html": html, "data": {"session_id": session_id, "debrief_url": debrief_url}}
