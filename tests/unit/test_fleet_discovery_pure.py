"""The pure parts of discovery and the nearby-boxes cache of the admin page."""

from __future__ import annotations

import threading
import time

from edge_server.discovery import TXT_VALUE_MAX, channels_txt, dns_label
from edge_server.fleet import NearbyBoxes


def test_box_names_become_valid_host_labels():
    assert dns_label("Hill School (5A)") == "hill-school-5a"
    assert dns_label("École Nº 3") == "ecole-no-3"
    assert dns_label("***") == "classroom-box"
    assert dns_label("山村小学", fallback="classroom-box-1a2b3c") == "classroom-box-1a2b3c"
    assert len(dns_label("x" * 200)) == 63


def test_the_channel_list_is_cut_at_a_whole_id_to_fit_one_txt_string():
    ids = [f"cn.k12.subject{i:03d}.grade5" for i in range(40)]
    txt = channels_txt(ids)
    assert len(txt.encode()) <= TXT_VALUE_MAX
    kept = txt.split(",")
    assert kept == ids[: len(kept)] and 0 < len(kept) < len(ids)
    assert channels_txt(["a", "b"]) == "a,b"


def test_the_nearby_cache_answers_at_once_and_fills_in_the_background():
    release = threading.Event()

    def slow_discover():
        release.wait(5)
        return [{"name": "Valley", "box_id": "b2"}]

    cache = NearbyBoxes(slow_discover, max_age_s=60)
    started = time.monotonic()
    first = cache.snapshot()
    assert time.monotonic() - started < 0.5
    assert first["boxes"] == [] and first["searching"] and first["updated"] is None
    release.set()
    cache.wait(5)
    second = cache.snapshot()
    assert second["boxes"] == [{"name": "Valley", "box_id": "b2"}]
    assert not second["searching"] and second["updated"]


def test_a_failing_discovery_keeps_the_last_boxes_and_reports_the_error():
    answers = iter([[{"name": "Valley"}], OSError("no multicast route")])

    def discover():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    cache = NearbyBoxes(discover, max_age_s=3600)
    cache.refresh()
    cache.wait(5)
    cache.refresh()
    cache.wait(5)
    last = cache.snapshot()
    assert last["boxes"] == [{"name": "Valley"}]
    assert "multicast" in last["error"]
