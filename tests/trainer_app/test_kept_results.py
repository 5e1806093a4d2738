import threading

from trainer_app.kept_results import KeptResults


def test_the_least_recently_used_goes_first_and_a_read_counts_as_a_use():
    kept = KeptResults(size=2)
    kept.put("a", 1)
    kept.put("b", 2)
    assert kept.get("a") == 1  # "b" is now the least recently used
    kept.put("c", 3)
    assert (kept.get("a"), kept.get("b"), kept.get("c")) == (1, None, 3)
    kept.discard("a")
    kept.discard("missing")
    assert kept.get("a") is None
    kept.clear()
    assert kept.get("c") is None


def test_threads_sharing_it_never_exceed_its_size():
    kept = KeptResults(size=50)

    def fill(offset: int) -> None:
        for i in range(2000):
            kept.put(offset + i, i)
            kept.get(offset + i // 2)

    threads = [threading.Thread(target=fill, args=(n * 10_000,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(kept._items) == 50
