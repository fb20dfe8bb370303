"""Pupil, teacher and presenter pages through the real app, real SQLite and the real sample course."""

from __future__ import annotations

import re

import pytest

from edge_server.identity import issue_setup_token
from edge_server.settings import load_settings
from edge_server.store.db import connect, rows
from edge_server.web.app import create_app
from tests.e2e.pages_data import TEACHER, add_ai_outputs, populate
from tests.fixtures_packs import sample_data_dir, signing_key  # noqa: F401

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def box(sample_data_dir):  # noqa: F811
    people = populate(sample_data_dir)
    settings = load_settings(sample_data_dir, scheduler_enabled=False, ai_jobs_enabled=False, announce=False)
    app = create_app(settings)
    return app, people, sample_data_dir


def token(client, url: str, **kw) -> str:
    """The CSRF token of the form on a page."""
    page = client.get(url, **kw)
    found = CSRF.search(page.get_data(as_text=True))
    assert found, f"no csrf token on {url}"
    return found.group(1)


def pupil_login(client, ref: str, pin: str, **kw):
    return client.post(f"/login/{ref}", data={"pin": pin, "csrf_token": token(client, f"/login/{ref}")}, **kw)


def teacher_login(client, password: str = TEACHER[1], **kw):
    return client.post("/teacher/login", data={"username": TEACHER[0], "password": password,
                                               "csrf_token": token(client, "/teacher/login", **kw)}, **kw)


def answer(client, lesson: str, exercise: str, response: str):
    csrf = token(client, f"/lesson/{lesson}")
    return client.post(f"/lesson/{lesson}/answer", json={"exercise_id": exercise, "response": response},
                       headers={"X-CSRFToken": csrf})


def test_a_pupil_picks_class_then_name_then_types_the_pin_and_sees_the_sample_lessons(box):
    app, people, _ = box
    client = app.test_client()
    home = client.get("/").get_data(as_text=True)
    assert f'href="/class/{people["class_id"]}"' in home
    roster = client.get(f"/class/{people['class_id']}").get_data(as_text=True)
    amina = people["pupils"]["Amina"]
    assert f'/login/{amina["ref"]}' in roster and "avatars/sun.svg" in roster
    response = pupil_login(client, amina["ref"], "1234")
    assert response.status_code == 302 and response.location.endswith("/lessons")
    lessons = client.get("/lessons").get_data(as_text=True)
    assert "Hello, Amina!" in lessons
    for title in ("The water cycle", "Shapes and angles"):
        assert title in lessons


def test_the_lesson_player_links_the_medium_tracks_api_start_time_and_exercises_without_answers(box):
    app, people, _ = box
    client = app.test_client()
    pupil_login(client, people["pupils"]["Amina"]["ref"], "1234")
    page = client.get("/lesson/water-cycle?t=21.5").get_data(as_text=True)
    assert '<audio id="media"' in page and 'src="/media/demo.science.primary/media/water-cycle.ogg"' in page
    assert 'data-start="21.5"' in page and "<track" not in page  # no AI outputs yet: no tracks
    assert "Evaporation" in page and "Condensation" in page  # the knowledge points stand in for chapters
    assert 'name="response" value="0"' in page
    assert '"answer"' not in page and "answer&#34;" not in page
    assert "<strong>Evaporation</strong>" in page  # notes' Markdown bold, escaped otherwise


def test_with_ai_outputs_the_player_has_caption_and_chapter_tracks_a_timed_chapter_list_and_a_summary(box):
    app, people, data = box
    assert add_ai_outputs(data) == 3
    client = app.test_client()
    pupil_login(client, people["pupils"]["Amina"]["ref"], "1234")
    page = client.get("/lesson/water-cycle").get_data(as_text=True)
    assert '<track kind="captions" src="/api/v1/lessons/water-cycle/captions.vtt"' in page
    assert '<track kind="chapters" src="/api/v1/lessons/water-cycle/chapters.vtt"' in page
    assert 'href="?t=21.3" data-start="21.301"' in page and '<span class="time">0:21</span>Condensation' in page
    assert 'id="captions-toggle"' in page and 'id="summary"' in page
    assert client.get("/api/v1/lessons/water-cycle/captions.vtt").data.startswith(b"WEBVTT")


def test_a_right_and_a_wrong_answer_get_feedback_and_the_teacher_sees_them_on_the_class_page(box):
    app, people, data = box
    pupil = app.test_client()
    pupil_login(pupil, people["pupils"]["Amina"]["ref"], "1234")
    right = answer(pupil, "water-cycle", "water-cycle-1", "0").get_json()
    wrong = answer(pupil, "water-cycle", "water-cycle-1", "2").get_json()
    assert right["correct"] is True and right["feedback"]
    assert wrong["correct"] is False and wrong["hint"]
    stored = rows(connect(data / "box.db"), "SELECT item, correct, response FROM attempts ORDER BY id")
    assert stored == [{"item": "water-cycle-1", "correct": 1, "response": "0"},
                      {"item": "water-cycle-1", "correct": 0, "response": "2"}]
    teacher = app.test_client()
    teacher_login(teacher)
    page = teacher.get(f"/teacher/class/{people['class_id']}").get_data(as_text=True)
    assert page.count("What makes water evaporate from a lake?") == 2
    assert "Amina" in page and '<tr class="right">' in page and '<tr class="wrong">' in page


def test_an_answer_needs_a_pupil_session_and_a_csrf_token(box):
    app, people, data = box
    anonymous = app.test_client()
    assert anonymous.post("/lesson/water-cycle/answer", json={"exercise_id": "water-cycle-1",
                                                              "response": "0"}).status_code in (400, 401)
    pupil = app.test_client()
    pupil_login(pupil, people["pupils"]["Amina"]["ref"], "1234")
    no_token = pupil.post("/lesson/water-cycle/answer", json={"exercise_id": "water-cycle-1", "response": "0"})
    assert no_token.status_code == 400
    other_lesson = answer(pupil, "water-cycle", "shapes-1", "0")
    assert other_lesson.status_code == 404
    assert rows(connect(data / "box.db"), "SELECT id FROM attempts") == []


def test_a_pupil_sees_only_their_own_answers_on_the_lesson_page(box):
    app, people, _ = box
    amina, bao = app.test_client(), app.test_client()
    pupil_login(amina, people["pupils"]["Amina"]["ref"], "1234")
    answer(amina, "water-cycle", "water-cycle-1", "0")
    assert 'class="exercise panel right"' in amina.get("/lesson/water-cycle").get_data(as_text=True)
    pupil_login(bao, people["pupils"]["Bao"]["ref"], "5678")
    page = bao.get("/lesson/water-cycle").get_data(as_text=True)
    assert "exercise panel right" not in page and "Amina" not in page
    assert bao.get(f"/teacher/class/{people['class_id']}").status_code == 302


def test_a_wrong_pin_is_refused_and_after_five_misses_even_the_right_pin_waits(box):
    app, people, _ = box
    client = app.test_client()
    ref = people["pupils"]["Amina"]["ref"]
    for _ in range(5):
        miss = pupil_login(client, ref, "0000")
        assert miss.status_code == 400 and "That number is not right" in miss.get_data(as_text=True)
    blocked = pupil_login(client, ref, "1234")
    assert blocked.status_code == 429 and "Too many tries" in blocked.get_data(as_text=True)
    assert client.get("/lessons").status_code == 302
    other_pupil = pupil_login(app.test_client(), people["pupils"]["Bao"]["ref"], "5678",
                              environ_base={"REMOTE_ADDR": "127.0.0.2"})
    assert other_pupil.status_code == 302  # the limit is per pupil, not for the whole class


def test_failed_pins_count_across_worker_processes_and_restarts(box):
    app, people, data = box
    ref = people["pupils"]["Amina"]["ref"]
    for _ in range(3):
        assert pupil_login(app.test_client(), ref, "0000").status_code == 400
    # a second app on the same box.db: another gunicorn worker, or the server after a crash
    other = create_app(load_settings(data, scheduler_enabled=False, ai_jobs_enabled=False, announce=False))
    for _ in range(2):
        assert pupil_login(other.test_client(), ref, "0000").status_code == 400
    assert pupil_login(app.test_client(), ref, "1234").status_code == 429
    assert pupil_login(other.test_client(), ref, "1234").status_code == 429
    assert rows(connect(data / "box.db"), "SELECT count FROM rate_limits WHERE key LIKE '%account%'") == [{"count": 5}]


def test_one_tablet_guessing_many_pupils_pins_is_slowed_down_too(box):
    app, people, _ = box
    client = app.test_client()
    refs = [p["ref"] for p in people["pupils"].values()]
    codes = [pupil_login(client, refs[i % len(refs)], "9999").status_code for i in range(14)]
    assert 429 not in codes
    for i in range(6):
        pupil_login(client, refs[i % len(refs)], "9999")
    assert pupil_login(client, people["pupils"]["Chloé"]["ref"], "2468").status_code == 429


def test_teacher_pages_need_a_teacher_and_a_wrong_password_is_refused_then_rate_limited(box):
    app, people, _ = box
    client = app.test_client()
    for url in ("/teacher/", f"/teacher/class/{people['class_id']}", "/present/water-cycle"):
        response = client.get(url)
        assert response.status_code == 302 and "/teacher/login" in response.location
    for _ in range(5):
        assert teacher_login(client, "wrong-password").status_code == 401
    assert teacher_login(client).status_code == 429
    fresh = app.test_client()
    assert teacher_login(fresh).status_code == 429  # per account: another browser waits as well


def test_a_teacher_logs_in_adds_a_pupil_with_a_picture_resets_a_pin_and_assigns_a_lesson(box):
    app, people, data = box
    teacher = app.test_client()
    assert teacher_login(teacher).location.endswith("/teacher/")
    class_url = f"/teacher/class/{people['class_id']}"
    added = teacher.post(f"{class_url}/pupils", data={"name": "Dara", "pin": "4321", "picture": "boat",
                                                     "csrf_token": token(teacher, class_url)})
    assert added.status_code == 302
    dara = rows(connect(data / "box.db"), "SELECT id, ref, picture, pin_hash FROM pupils WHERE name = 'Dara'")[0]
    assert dara["picture"] == "boat" and "4321" not in dara["pin_hash"] and dara["ref"].startswith("p-")
    teacher.post(f"/teacher/pupil/{dara['id']}/pin", data={"pin": "8765", "csrf_token": token(teacher, class_url)})
    teacher.post(f"{class_url}/assign", data={"lesson": ["shapes-and-angles"], "csrf_token": token(teacher, class_url)})
    pupil = app.test_client()
    assert pupil_login(pupil, dara["ref"], "4321").status_code == 400
    assert pupil_login(pupil, dara["ref"], "8765").status_code == 302
    lessons = pupil.get("/lessons").get_data(as_text=True)
    assert "Shapes and angles" in lessons and "The water cycle" not in lessons
    assert pupil.get("/lesson/water-cycle").status_code == 404


def test_the_setup_page_creates_only_the_first_teacher_and_is_gone_afterwards(data_dir):
    setup_token = issue_setup_token(data_dir)
    app = create_app(load_settings(data_dir, scheduler_enabled=False, ai_jobs_enabled=False))
    client = app.test_client()
    assert client.get("/teacher/login").location.endswith("/teacher/setup")
    short = client.post("/teacher/setup", data={"username": "t", "password": "short", "confirm": "short",
                                                "token": setup_token, "csrf_token": token(client, "/teacher/setup")})
    assert short.status_code == 400
    created = client.post("/teacher/setup", data={"username": "head", "password": "a-long-pass",
                                                  "confirm": "a-long-pass", "token": setup_token,
                                                  "csrf_token": token(client, "/teacher/setup")})
    assert created.status_code == 302 and client.get("/teacher/").status_code == 200
    again = app.test_client()
    assert again.get("/teacher/setup").status_code == 404
    assert again.post("/teacher/setup", data={"username": "intruder", "password": "a-long-pass",
                                              "confirm": "a-long-pass"}).status_code in (400, 404)
    assert [r["username"] for r in rows(connect(data_dir / "box.db"), "SELECT username FROM teachers")] == ["head"]


def test_presenter_mode_shows_the_lesson_big_chapters_and_a_qr_code_of_the_box_address(box):
    app, _, _ = box
    teacher = app.test_client()
    teacher_login(teacher, base_url="http://192.0.2.10:8080")
    page = teacher.get("/present/water-cycle", base_url="http://192.0.2.10:8080").get_data(as_text=True)
    assert 'class="presenter"' in page and "<svg" in page and "http://192.0.2.10:8080/" in page
    assert 'id="chapters"' in page and "Precipitation" in page
    assert teacher.get("/present/no-such-lesson", base_url="http://192.0.2.10:8080").status_code == 404


def test_every_post_form_on_every_page_carries_a_csrf_token(box):
    app, people, _ = box
    teacher = app.test_client()
    teacher_login(teacher)
    pupil = app.test_client()
    pupil_login(pupil, people["pupils"]["Amina"]["ref"], "1234")
    pages = [(app.test_client(), "/"), (app.test_client(), "/teacher/login"),
             (app.test_client(), f"/login/{people['pupils']['Bao']['ref']}"),
             (pupil, "/lessons"), (pupil, "/lesson/water-cycle"),
             (teacher, "/teacher/"), (teacher, f"/teacher/class/{people['class_id']}"),
             (teacher, "/present/water-cycle")]
    checked = 0
    for client, url in pages:
        html = client.get(url).get_data(as_text=True)
        for form in re.findall(r"<form[^>]*method=\"post\".*?</form>", html, flags=re.S):
            assert 'name="csrf_token"' in form, (url, form[:120])
            checked += 1
    assert checked >= 10


def test_session_cookies_are_httponly_and_samesite(box):
    app, people, _ = box
    client = app.test_client()
    response = pupil_login(client, people["pupils"]["Amina"]["ref"], "1234")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.parametrize(("accept", "expected"), [
    ("fr-FR,fr;q=0.9", ["Choisis ta classe", "Enseignants : connectez-vous ici"]),
    ("zh-CN,zh;q=0.9", ["选择你的班级", "老师：在这里登录"]),
    ("en-GB", ["Choose your class", "Teachers: log in here"]),
])
def test_the_browser_language_chooses_english_french_or_chinese(box, accept, expected):
    app, _, _ = box
    page = app.test_client().get("/", headers={"Accept-Language": accept}).get_data(as_text=True)
    for text in expected:
        assert text in page


def test_the_language_switcher_sticks_for_the_session_across_pupil_and_teacher_pages(box):
    app, people, _ = box
    client = app.test_client()
    assert "选择你的班级" in client.get("/?lang=zh", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "你是谁？" in client.get(f"/class/{people['class_id']}").get_data(as_text=True)
    assert "教师登录" in client.get("/teacher/login", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    pupil_login(client, people["pupils"]["Amina"]["ref"], "1234")
    lesson = client.get("/lesson/water-cycle").get_data(as_text=True)
    assert "练习" in lesson and 'lang="zh-Hans"' in lesson
    csrf = token(client, "/lesson/water-cycle")
    result = client.post("/lesson/water-cycle/answer", json={"exercise_id": "water-cycle-1", "response": "1"},
                         headers={"X-CSRFToken": csrf}).get_json()
    assert result["correct"] is False and result["feedback"] == "差一点。再仔细看看，再试一次。"


def test_pages_and_their_assets_stay_small_for_slow_networks(box):
    app, people, _ = box
    client = app.test_client()
    css = client.get("/static/box.css").data
    js = client.get("/static/box.js").data
    assert len(css) + len(js) < 20_000
    pupil_login(client, people["pupils"]["Amina"]["ref"], "1234")
    assert len(client.get("/lesson/water-cycle").data) < 30_000
    for html in (client.get("/lessons").data, client.get("/lesson/water-cycle").data):
        assert b"http://" not in html and b"https://" not in html  # no CDN, no external assets
