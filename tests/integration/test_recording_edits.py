"""A teacher corrects the AI on a recording of theirs: only theirs (or an admin's), refused input kept, the
corrections used at once by the player, the API and the companion, and kept when the pipeline runs again."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from edge_server import companion, jobs
from edge_server.box import Box
from edge_server.settings import load_settings
from edge_server.store import people
from edge_server.store.db import connect, one, open_box_db, rows, write
from edge_server.web import auth
from edge_server.web.app import create_app
from models.pipeline import PIPELINE_VERSION
from models.worker import OnDemandModels
from tests.e2e.pages_data import TEACHER, populate
from tests.recording_fixtures import KPS, add_recording, pipeline_outputs

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
META_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')
OWNER, OTHER = ("owner", "owner-password"), ("other", "other-password")


@pytest.fixture
def box(sample_data_dir):
    """The sample course, the pages' people (the first teacher is the admin) and two more teachers."""
    ids = populate(sample_data_dir)
    db = open_box_db(sample_data_dir / "box.db")
    ids["owner"] = people.add_teacher(db, OWNER[0], auth.hash_password(OWNER[1]), "Mr Owner")
    ids["other"] = people.add_teacher(db, OTHER[0], auth.hash_password(OTHER[1]), "Ms Other")
    db.execute("UPDATE jobs SET status = 'done'")  # the sample course's own pipeline is not what is tested here
    db.conn.close()
    return sample_data_dir, ids


def _app(data_dir, **overrides):
    settings = load_settings(data_dir, scheduler_enabled=False, ai_jobs_enabled=False, announce=False, **overrides)
    return create_app(settings)


def _teacher(app, who=TEACHER):
    client = app.test_client()
    page = client.get("/teacher/login").get_data(as_text=True)
    response = client.post("/teacher/login", data={"username": who[0], "password": who[1],
                                                   "csrf_token": CSRF.search(page).group(1)})
    assert response.status_code == 302
    return client


def _pupil(app, ref, pin="1234"):
    client = app.test_client()
    page = client.get(f"/login/{ref}").get_data(as_text=True)
    assert client.post(f"/login/{ref}", data={"pin": pin, "csrf_token": CSRF.search(page).group(1)}).status_code == 302
    client.csrf = META_CSRF.search(client.get("/lessons").get_data(as_text=True)).group(1)
    return client


class _Fields(HTMLParser):
    """The fields of a page's forms as a browser would send them (checkboxes only when ticked, no buttons)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and (a.get("type") != "checkbox" or "checked" in a):
            self.fields[name] = a.get("value") or ""
        elif tag == "select" and name:
            self._select = name
            self.fields.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in a:
            self.fields[self._select] = a.get("value") or ""
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields[name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea] += data


def _form(client, url):
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    text = page.get_data(as_text=True)
    parser = _Fields()
    parser.feed(text)
    return parser.fields, text


def _outputs(data_dir, sha):
    return {r["kind"]: r for r in rows(connect(data_dir / "box.db"), "SELECT * FROM ai_outputs WHERE media_sha256 = ?",
                                       (sha,))}


def _chunks(data_dir, lesson_id):
    return rows(connect(data_dir / "box.db"), "SELECT start, end, knowledge_point, text FROM transcript_chunks "
                                              "WHERE lesson_id = ? ORDER BY start", (lesson_id,))


def test_only_the_teacher_who_uploaded_a_recording_or_an_admin_may_correct_it(box):
    data_dir, ids = box
    lesson_id, sha = add_recording(data_dir, ids["owner"])
    app = _app(data_dir)
    owner, other, admin = _teacher(app, OWNER), _teacher(app, OTHER), _teacher(app)
    pages = [f"/teacher/recordings/{lesson_id}/edit{tail}" for tail in ("", "/captions", "/chapters", "/summary")]
    for url in pages:
        assert owner.get(url).status_code == 200
        assert admin.get(url).status_code == 200
        assert other.get(url).status_code == 403
    fields, _page = _form(owner, pages[3])
    before = _outputs(data_dir, sha)["summary"]["content"]
    token = CSRF.search(other.get("/teacher/recordings/").get_data(as_text=True)).group(1)
    refused = other.post(pages[3], data={**fields, "csrf_token": token, "summary": "Mine now."})
    assert refused.status_code == 403 and _outputs(data_dir, sha)["summary"]["content"] == before
    # the recordings page offers the correction to the uploader, not to another teacher
    assert f"/teacher/recordings/{lesson_id}/edit" in owner.get("/teacher/recordings/").get_data(as_text=True)
    assert f"/teacher/recordings/{lesson_id}/edit" not in other.get("/teacher/recordings/").get_data(as_text=True)
    # a pupil is sent to the teachers' login, and changes nothing
    pupil = _pupil(app, ids["pupils"]["Amina"]["ref"])
    assert pupil.get(pages[2]).status_code == 302
    sent = pupil.post(pages[3], data={**fields, "csrf_token": pupil.csrf, "summary": "Pupil wrote this."})
    assert sent.status_code == 302 and "/teacher/login" in sent.headers["Location"]
    assert _outputs(data_dir, sha)["summary"]["content"] == before
    # a pack's lesson is the province's: no editor, even for an admin
    assert admin.get("/teacher/recordings/water-cycle/edit/chapters").status_code == 404


def test_a_recording_from_before_uploaders_were_kept_may_be_corrected_by_any_teacher(box):
    data_dir, ids = box
    lesson_id, _sha = add_recording(data_dir, None)
    assert _teacher(_app(data_dir), OTHER).get(f"/teacher/recordings/{lesson_id}/edit/chapters").status_code == 200


def test_the_uploader_is_recorded_by_the_upload_form(box, tmp_path):
    from tests.ai_support import PLANTS, speak

    data_dir, ids = box
    owner = _teacher(_app(data_dir), OWNER)
    page = owner.get("/teacher/recordings/").get_data(as_text=True)
    clip = speak(tmp_path / "plants.wav", PLANTS)
    response = owner.post("/teacher/recordings/", content_type="multipart/form-data", data={
        "title": "Plants", "knowledge_points": ["sci.living.needs"], "csrf_token": CSRF.search(page).group(1),
        "media": (clip.open("rb"), "plants.wav")})
    assert response.status_code == 303
    found = one(connect(data_dir / "box.db"), "SELECT uploaded_by FROM lessons WHERE title = 'Plants'")
    assert found["uploaded_by"] == ids["owner"]


def test_moved_chapters_reach_the_player_the_api_and_the_companions_citation_at_once(box):
    data_dir, ids = box
    lesson_id, sha = add_recording(data_dir, ids["owner"])
    from tests.integration.test_companion_api import ScriptedModel

    settings = load_settings(data_dir, scheduler_enabled=False, ai_jobs_enabled=False, announce=False,
                             companion_rephrase_budget_s=30.0)
    app = create_app(settings, Box.start(settings, companion=companion.Companion(settings, generator=ScriptedModel())))
    pupil = _pupil(app, ids["pupils"]["Amina"]["ref"])

    def cited() -> str:
        body = pupil.post("/api/v1/companion/ask", json={"question": "How do clouds form?", "lesson_id": lesson_id},
                          headers={"X-CSRFToken": pupil.csrf}).get_json()
        return body["citations"][0]["url"]

    assert cited() == f"/lesson/{lesson_id}?t=6"
    owner = _teacher(app, OWNER)
    url = f"/teacher/recordings/{lesson_id}/edit/chapters"
    fields, _page = _form(owner, url)
    assert (fields["start-1"], fields["title-1"], fields["kp-1"]) == ("0:06", "Condensation", KPS[1])
    saved = owner.post(url, data={**fields, "start-1": "0:05", "title-1": "Clouds form", "action": "save"})
    assert saved.status_code == 303
    stored = _outputs(data_dir, sha)
    assert json.loads(stored["chapters"]["content"]) == [
        {"start": 0.0, "end": 5.0, "title": "Evaporation", "knowledge_point": KPS[0]},
        {"start": 5.0, "end": 10.0, "title": "Clouds form", "knowledge_point": KPS[1]}]
    for kind in ("chapters", "chapters_vtt"):
        row = stored[kind]
        assert (row["source"], row["edited_by"], row["model_id"]) == ("teacher", ids["owner"], None)
        assert row["edited_at"] and json.loads(row["params"])["edited_from"]["model_id"] == "fixture-model"
    assert stored["transcript"]["edited_at"] is None  # only what was corrected is the teacher's
    # the companion's index follows the new boundary, and the same question is not answered from the old cache
    assert [(c["start"], c["knowledge_point"]) for c in _chunks(data_dir, lesson_id)] == [(0.0, KPS[0]), (5.0, KPS[1])]
    assert cited() == f"/lesson/{lesson_id}?t=5"
    # the pupil's player and the API show the new chapter start and its track
    player = pupil.get(f"/lesson/{lesson_id}").get_data(as_text=True)
    assert 'data-start="5.0"' in player and "Clouds form" in player
    doc = pupil.get(f"/api/v1/lessons/{lesson_id}").get_json()
    assert [(c["start"], c["title"]) for c in doc["chapters"]] == [(0.0, "Evaporation"), (5.0, "Clouds form")]
    assert "00:00:05.000 --> 00:00:10.000\nClouds form" in pupil.get(doc["chapters_url"]).get_data(as_text=True)


def test_merging_and_splitting_chapters_and_correcting_captions_and_summary(box):
    data_dir, ids = box
    lesson_id, sha = add_recording(data_dir, ids["owner"])
    owner = _teacher(_app(data_dir), OWNER)
    url = f"/teacher/recordings/{lesson_id}/edit/chapters"
    fields, _page = _form(owner, url)
    assert owner.post(url, data={**fields, "action": "merge-0"}).status_code == 303
    fields, _page = _form(owner, url)
    assert fields["count"] == "1"
    split = {**fields, "action": "split", "split_at": "7,5", "split_title": "Rain"}  # a decimal comma too
    assert owner.post(url, data=split).status_code == 303
    chapters = json.loads(_outputs(data_dir, sha)["chapters"]["content"])
    assert [(c["start"], c["end"], c["title"]) for c in chapters] == [(0.0, 7.5, "Evaporation"), (7.5, 10.0, "Rain")]

    url = f"/teacher/recordings/{lesson_id}/edit/captions"
    fields, page = _form(owner, url)
    assert fields["text-2"] == "Then the vapour cools and forms clouds." and 'name="start-new"' in page
    corrected = {**fields, "text-2": "Then the vapour cools and forms cumulus clouds.", "delete-3": "1",
                 "start-new": "0:08.5", "end-new": "0:10", "text-new": "This is called condensation."}
    assert owner.post(url, data=corrected).status_code == 303
    stored = _outputs(data_dir, sha)
    assert "forms cumulus clouds." in stored["captions_vtt"]["content"]
    assert "This is called condensation." in stored["captions_vtt"]["content"]
    assert "This is condensation." not in stored["captions_vtt"]["content"]
    segments = json.loads(stored["transcript"]["content"])["segments"]
    assert [s["text"] for s in segments][-2:] == ["Then the vapour cools and forms cumulus clouds.",
                                                  "This is called condensation."]
    assert stored["transcript"]["edited_by"] == stored["captions_vtt"]["edited_by"] == ids["owner"]
    db = connect(data_dir / "box.db")
    hits = rows(db, "SELECT c.lesson_id, c.start FROM chunks_fts JOIN transcript_chunks c ON c.id = chunks_fts.rowid "
                    "WHERE chunks_fts MATCH 'cumulus'")
    assert hits == [{"lesson_id": lesson_id, "start": 0.0}]  # 6-8.5 s: its middle is in the first chapter

    url = f"/teacher/recordings/{lesson_id}/edit/summary"
    fields, _page = _form(owner, url)
    assert owner.post(url, data={**fields, "summary": "Heat lifts water; cold makes clouds."}).status_code == 303
    doc = json.loads(_outputs(data_dir, sha)["summary"]["content"])
    assert (doc["summary"], doc["method"]) == ("Heat lifts water; cold makes clouds.", "teacher")
    overview = owner.get(f"/teacher/recordings/{lesson_id}/edit").get_data(as_text=True)
    assert overview.count("Corrected by Mr Owner") == 3


@pytest.mark.parametrize("lang, words", [("en", "Line 3 starts before line 2 ends."),
                                         ("fr", "La ligne 3 commence avant la fin de la ligne 2."),
                                         ("zh", "第 3 行在第 2 行结束前开始。")])
def test_a_refused_correction_says_why_in_the_pages_language_and_keeps_what_was_typed(box, lang, words):
    data_dir, ids = box
    lesson_id, sha = add_recording(data_dir, ids["owner"])
    owner = _teacher(_app(data_dir), OWNER)
    owner.get(f"/?lang={lang}")
    url = f"/teacher/recordings/{lesson_id}/edit/captions"
    fields, _page = _form(owner, url)
    before = _outputs(data_dir, sha)["captions_vtt"]["content"]
    typed = {**fields, "start-2": "0:05.5", "text-2": "Typed & kept <here>"}
    response = owner.post(url, data=typed)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and words in page
    assert 'value="0:05.5"' in page and 'value="Typed &amp; kept &lt;here&gt;"' in page
    assert _outputs(data_dir, sha)["captions_vtt"]["content"] == before


def test_a_save_over_a_newer_correction_is_refused_with_409_and_keeps_the_input(box):
    data_dir, ids = box
    lesson_id, sha = add_recording(data_dir, ids["owner"])
    app = _app(data_dir)
    owner, admin = _teacher(app, OWNER), _teacher(app)
    url = f"/teacher/recordings/{lesson_id}/edit/summary"
    mine, _page = _form(owner, url)
    theirs, _page = _form(admin, url)
    assert admin.post(url, data={**theirs, "summary": "The admin's summary."}).status_code == 303
    late = owner.post(url, data={**mine, "summary": "The owner's summary."})
    assert late.status_code == 409 and "The owner&#39;s summary." in late.get_data(as_text=True)
    assert json.loads(_outputs(data_dir, sha)["summary"]["content"])["summary"] == "The admin's summary."
    # a chapter table past the end is a 400 that keeps the table as typed
    url = f"/teacher/recordings/{lesson_id}/edit/chapters"
    fields, _page = _form(owner, url)
    response = owner.post(url, data={**fields, "start-1": "0:42", "title-1": "Kept title", "action": "save"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "too close to the end" in page
    assert 'value="0:42"' in page and 'value="Kept title"' in page


@pytest.fixture(scope="module")
def runners(tmp_path_factory):
    """Real runners on one real model process for this module's pipeline runs."""
    settings = load_settings(tmp_path_factory.mktemp("runners-var"), ai_threads=2, device="cpu")
    with OnDemandModels(settings.model_options()) as models:
        yield jobs.Runners(settings, models)


def test_corrections_survive_a_rerun_of_the_real_pipeline_which_replaces_only_what_was_left_alone(box, runners):
    data_dir, ids = box
    lesson_id, sha = add_recording(data_dir, ids["owner"], with_outputs=False)
    settings = load_settings(data_dir)
    assert jobs.run_pending(settings, runners=runners) == 1
    first = _outputs(data_dir, sha)
    assert set(first) == {"transcript", "captions_vtt", "chapters", "chapters_vtt", "summary"}
    assert all(o["source"] == "box" and o["pipeline_version"] == PIPELINE_VERSION for o in first.values())
    owner = _teacher(_app(data_dir), OWNER)
    url = f"/teacher/recordings/{lesson_id}/edit/chapters"
    fields, _page = _form(owner, url)
    count = int(fields["count"])
    for _ in range(count - 1):  # whatever the AI found: one chapter, then two at known times
        fields, _page = _form(owner, url)
        assert owner.post(url, data={**fields, "action": "merge-0"}).status_code == 303
    fields, _page = _form(owner, url)
    assert owner.post(url, data={**fields, "title-0": "Heat", "kp-0": KPS[0], "action": "split", "split_at": "4",
                                 "split_title": "Clouds"}).status_code == 303
    fields, _page = _form(owner, url)
    assert owner.post(url, data={**fields, "kp-1": KPS[1], "action": "save"}).status_code == 303
    summary_url = f"/teacher/recordings/{lesson_id}/edit/summary"
    fields, _page = _form(owner, summary_url)
    assert owner.post(summary_url, data={**fields, "summary": "Our own summary."}).status_code == 303
    edited = _outputs(data_dir, sha)

    db = open_box_db(data_dir / "box.db")
    write(db, lambda tx: jobs.enqueue(tx, jobs.PIPELINE, sha, {"lesson_id": lesson_id}))
    db.conn.close()
    assert jobs.run_pending(settings, runners=runners) == 1
    job = rows(connect(data_dir / "box.db"), "SELECT status, error FROM jobs WHERE key = ? ORDER BY id", (sha,))[-1]
    assert job == {"status": "done", "error": None}
    after = _outputs(data_dir, sha)
    for kind in ("chapters", "chapters_vtt", "summary"):
        assert after[kind] == edited[kind], kind
    for kind in ("transcript", "captions_vtt"):  # left alone by the teacher: the new run's
        assert after[kind]["source"] == "box" and after[kind]["created"] > edited[kind]["created"]
    chapters = json.loads(after["chapters"]["content"])
    assert [(c["start"], c["title"], c["knowledge_point"]) for c in chapters] == [(0.0, "Heat", KPS[0]),
                                                                                  (4.0, "Clouds", KPS[1])]
    chunks = _chunks(data_dir, lesson_id)
    assert [(c["start"], c["knowledge_point"]) for c in chunks] == [(0.0, KPS[0]), (4.0, KPS[1])]
    assert "cloud" in chunks[1]["text"].lower()  # the new transcript, cut at the teacher's boundary


def test_pipeline_outputs_stored_again_never_overwrite_a_correction(box):
    data_dir, ids = box
    lesson_id, sha = add_recording(data_dir, ids["owner"])
    owner = _teacher(_app(data_dir), OWNER)
    url = f"/teacher/recordings/{lesson_id}/edit/summary"
    fields, _page = _form(owner, url)
    owner.post(url, data={**fields, "summary": "Kept."})
    db = open_box_db(data_dir / "box.db")
    write(db, lambda tx: jobs.store_outputs(tx, sha, pipeline_outputs(summary="The AI again.")))
    db.conn.close()
    assert json.loads(_outputs(data_dir, sha)["summary"]["content"])["summary"] == "Kept."
