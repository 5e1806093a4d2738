"""Live feedback is published off the request thread, shortly after the turn (so the reply starts first)."""

from feedback import subscriptions


class _Task:
    name = "feedback.tasks.fake"

    def __init__(self, fail_times: int = 0):
        self.calls: list[dict] = []
        self.fail_times = fail_times

    def apply_async(self, *, args, countdown):
        if self.fail_times:
            self.fail_times -= 1
            raise ConnectionError("broker hiccup")
        self.calls.append({"args": args, "countdown": countdown})


def test_published_with_the_configured_delay(settings):
    settings.LIVE_FEEDBACK_DELAY_S = 0.1
    task = _Task()
    subscriptions._publish(task, 42)
    assert task.calls == [{"args": (42,), "countdown": 0.1}]


def test_no_delay_when_set_to_zero_and_one_retry_on_a_broker_error(settings, monkeypatch):
    settings.LIVE_FEEDBACK_DELAY_S = 0
    monkeypatch.setattr(subscriptions, "_PUBLISH_RETRY_DELAY_S", 0)
    task = _Task(fail_times=1)
    subscriptions._publish(task, 7)
    assert task.calls == [{"args": (7,), "countdown": None}]
