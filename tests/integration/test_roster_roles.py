"""Teachers' roles and class rosters through the real app, real SQLite and the sample course: who opens which
class, the admin's pages, importing and exporting a class list, login cards, new PINs, moving and removing pupils."""

from __future__ import annotations

import io
import re

import pytest

from edge_server.attempts import box_identity
from edge_server.settings import load_settings
from edge_server.store import people
from edge_server.store.db import connect, one, rows
from edge_server.web import auth
from edge_server.web.app import create_app
from sync import statements
from tests.e2e.pages_data import CLASS_NAME, TEACHER, populate
from tests.fixtures_packs import sample_data_dir, signing_key  # noqa: F401
from tests.integration.test_pages_flows import answer, pupil_login, token

OTHER = ("ms-lee", "another-long-password")
PIN_ON_CARD = re.compile(r'<span class="name">([^<]+)<small>.*?<b>(\d{4})</b>', re.S)


@pytest.fixture
def box(sample_data_dir):  # noqa: F811
    """The pages' box: the admin (the first teacher, who owns Class 4), and Ms Lee, a teacher with Class 5."""
    ids = populate(sample_data_dir)
    db = connect(sample_data_dir / "box.db")
    ids["other_id"] = people.add_teacher(db, OTHER[0], auth.hash_password(OTHER[1]), "Ms Lee")
    ids["other_class"] = people.add_class(db, "Class 5", ids["other_id"])
    ids["other_pupil"] = people.add_pupil(db, ids["other_class"], "Dara", auth.hash_pin("4321"), "moon")["id"]
    db.conn.close()
    settings = load_settings(sample_data_dir, scheduler_enabled=False, ai_jobs_enabled=False, announce=False)
    return create_app(settings), ids, sample_data_dir


def log_in(app, who: tuple[str, str] = TEACHER):
    client = app.test_client()
    answer_ = client.post("/teacher/login", data={"username": who[0], "password": who[1],
                                                  "csrf_token": token(client, "/teacher/login")})
    assert answer_.status_code == 302, answer_.get_data(as_text=True)[:500]
    return client


def upload(client, class_id: int, text: str | bytes, filename: str = "class.csv"):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return client.post(f"/teacher/class/{class_id}/roster", content_type="multipart/form-data",
                       data={"csrf_token": token(client, "/teacher/"),
                             "roster": (io.BytesIO(data), filename)})


# ---------------------------------------------------------------- roles


def test_the_first_teacher_is_the_admin_and_later_teachers_are_plain_teachers(box):
    _app, ids, data = box
    db = connect(data / "box.db")
    assert people.get_teacher(db, ids["teacher_id"])["role"] == "admin"
    assert people.get_teacher(db, ids["other_id"])["role"] == "teacher"
    assert people.get_class(db, ids["class_id"])["teacher_id"] == ids["teacher_id"]


def test_a_teacher_cannot_open_another_teachers_class_while_the_admin_can(box):
    app, ids, _ = box
    lee, admin = log_in(app, OTHER), log_in(app)
    theirs, pupil = ids["class_id"], ids["pupils"]["Amina"]["id"]
    pages = [f"/teacher/class/{theirs}", f"/teacher/dashboard/{theirs}", f"/teacher/dashboard/{theirs}.csv",
             f"/teacher/dashboard/{theirs}/pupil/{pupil}", f"/teacher/class/{theirs}/cards",
             f"/teacher/class/{theirs}/roster.csv", f"/teacher/class/{theirs}/roster",
             f"/teacher/class/{theirs}/new-pins", f"/teacher/pupil/{pupil}", f"/teacher/pupil/{pupil}/remove"]
    for url in pages:
        assert lee.get(url).status_code == 403, url
        assert admin.get(url).status_code == 200, url
    assert lee.get(f"/teacher/class/{ids['other_class']}").status_code == 200
    csrf = token(lee, "/teacher/")
    posts = {f"/teacher/pupil/{pupil}/pin": {"pin": "9999"},
             f"/teacher/class/{theirs}/assign": {"lesson": "water-cycle"}, f"/teacher/class/{theirs}/logins": {},
             f"/teacher/class/{theirs}/take-home": {"days": "3"},
             f"/teacher/class/{theirs}/media-budget": {"media_budget_mb": "10"},
             f"/teacher/class/{theirs}/login-kind": {"kind": "pictures"},
             f"/teacher/pupil/{pupil}/pictures": {"picture": ["apple", "ball", "bird"]},
             f"/teacher/pupil/{pupil}/remove": {"confirm": "yes"}, f"/teacher/class/{theirs}/new-pins": {},
             f"/teacher/pupil/{ids['other_pupil']}/move": {"class_id": str(theirs)}}
    for url, form in posts.items():
        assert lee.post(url, data={**form, "csrf_token": csrf}).status_code == 403, url
    refused = upload(lee, theirs, "name\nIntruder\n")
    assert refused.status_code == 403
    db = connect(box[2] / "box.db")
    assert [p["name"] for p in people.pupils_in_class(db, theirs)] == ["Amina", "Bao", "Chloé"]
    assert people.pupils_in_class(db, ids["other_class"])[0]["name"] == "Dara"  # not moved
    assert auth.verify_pin(one(db, "SELECT pin_hash FROM pupils WHERE id = ?", (pupil,))["pin_hash"], "1234")


def test_a_teacher_sees_only_their_classes_and_an_admin_sees_every_class_with_its_teacher(box):
    app, _ids, _ = box
    lee = log_in(app, OTHER).get("/teacher/").get_data(as_text=True)
    assert "Class 5" in lee and CLASS_NAME not in lee and "/teacher/admin" not in lee
    admin = log_in(app).get("/teacher/").get_data(as_text=True)
    assert "Class 5" in admin and CLASS_NAME in admin and "Ms Lee" in admin
    assert 'href="/teacher/admin"' in admin and 'href="/teacher/admin/teachers"' in admin


def test_the_admin_pages_answer_403_to_a_teacher_and_send_a_stranger_to_the_login(box):
    app, _ids, _ = box
    lee, admin, stranger = log_in(app, OTHER), log_in(app), app.test_client()
    for url in ("/teacher/admin", "/teacher/admin/status.json", "/teacher/admin/teachers"):
        assert lee.get(url).status_code == 403, url
        assert admin.get(url).status_code == 200, url
        assert stranger.get(url).status_code in (302, 401), url
    csrf = token(lee, "/teacher/")
    for url, form in (("/teacher/admin/teachers", {"username": "mallory", "password": "long-enough-pw"}),
                      ("/teacher/admin/teachers/1/password", {"password": "taken-over-pw"}),
                      ("/teacher/admin/classes/1/teacher", {"teacher_id": "2"}),
                      ("/teacher/admin/pull", {"box_id": "x", "channel": "y"})):
        assert lee.post(url, data={**form, "csrf_token": csrf}).status_code == 403, url
    db = connect(box[2] / "box.db")
    assert people.teacher_by_username(db, "mallory") is None and people.get_class(db, 1)["teacher_id"] == 1


def test_a_class_made_on_the_pages_belongs_to_the_teacher_who_made_it(box):
    app, ids, data = box
    lee = log_in(app, OTHER)
    made = lee.post("/teacher/classes", data={"name": "Class 6", "csrf_token": token(lee, "/teacher/")})
    class_id = int(made.location.rsplit("/", 1)[1])
    assert people.get_class(connect(data / "box.db"), class_id)["teacher_id"] == ids["other_id"]
    assert lee.get(f"/teacher/class/{class_id}").status_code == 200


def test_the_admin_adds_a_teacher_who_logs_in_and_a_new_password_ends_that_teachers_sessions(box):
    app, _ids, data = box
    admin = log_in(app)
    csrf = token(admin, "/teacher/admin/teachers")
    short = admin.post("/teacher/admin/teachers", data={"username": "mr-ba", "password": "short", "csrf_token": csrf})
    assert short.status_code == 400 and people.teacher_by_username(connect(data / "box.db"), "mr-ba") is None
    added = admin.post("/teacher/admin/teachers", data={"username": "mr-ba", "display_name": "Mr Ba",
                                                        "password": "first-password", "role": "teacher",
                                                        "csrf_token": csrf})
    assert added.status_code == 303
    again = admin.post("/teacher/admin/teachers", data={"username": "mr-ba", "password": "first-password",
                                                        "csrf_token": csrf})
    assert again.status_code == 400 and "already" in again.get_data(as_text=True)
    ba = log_in(app, ("mr-ba", "first-password"))
    assert ba.get("/teacher/").status_code == 200 and ba.get("/teacher/admin").status_code == 403
    teacher_id = people.teacher_by_username(connect(data / "box.db"), "mr-ba")["id"]
    reset = admin.post(f"/teacher/admin/teachers/{teacher_id}/password",
                       data={"password": "second-password", "csrf_token": csrf})
    assert reset.status_code == 303
    assert ba.get("/teacher/").status_code == 302  # the old session ended
    log_in(app, ("mr-ba", "second-password"))
    assert admin.get("/teacher/admin/teachers").status_code == 200  # the admin stays logged in


def test_the_admin_hands_a_class_over_and_only_the_new_teacher_and_admins_open_it(box):
    app, ids, data = box
    admin, lee = log_in(app), log_in(app, OTHER)
    mine = f"/teacher/class/{ids['class_id']}"
    assert lee.get(mine).status_code == 403
    handed = admin.post(f"/teacher/admin/classes/{ids['class_id']}/teacher",
                        data={"teacher_id": str(ids["other_id"]), "next": mine,
                              "csrf_token": token(admin, "/teacher/admin/teachers")})
    assert handed.status_code == 303 and handed.location.endswith(mine)
    assert lee.get(mine).status_code == 200 and admin.get(mine).status_code == 200
    assert people.get_class(connect(data / "box.db"), ids["class_id"])["teacher_id"] == ids["other_id"]
    bad = admin.post(f"/teacher/admin/classes/{ids['class_id']}/teacher",
                     data={"teacher_id": "999", "csrf_token": token(admin, "/teacher/admin/teachers")})
    assert bad.status_code == 400


# ---------------------------------------------------------------- rosters


def test_an_imported_roster_adds_the_pupils_and_its_cards_show_each_made_pin_once_and_it_logs_in(box):
    app, ids, data = box
    lee = log_in(app, OTHER)
    names = [f"Pupil {i:02d}" for i in range(1, 34)] + ["Zoë", "王小明"]
    text = "name,picture,pin\n" + "".join(f"{n},{people.PICTURES[i % 8]},\n" for i, n in enumerate(names[:-1]))
    text += f"{names[-1]},,2580\n"
    result = upload(lee, ids["other_class"], text)
    assert result.status_code == 200 and result.headers["Cache-Control"] == "no-store"
    page = result.get_data(as_text=True)
    cards = dict(PIN_ON_CARD.findall(page))
    assert len(cards) == 35 and cards["王小明"] == "2580"
    assert page.count("<svg") == 35 and "35 pupils added" in page
    db = connect(data / "box.db")
    roster = {p["name"]: p for p in people.pupils_in_class(db, ids["other_class"])}
    assert set(names) <= set(roster) and roster["Zoë"]["picture"] == people.PICTURES[33 % 8]
    stored = one(db, "SELECT pin_hash FROM pupils WHERE ref = ?", (roster["Zoë"]["ref"],))["pin_hash"]
    assert auth.verify_pin(stored, cards["Zoë"]) and cards["Zoë"] not in stored
    pupil = app.test_client()
    assert pupil_login(pupil, roster["Zoë"]["ref"], cards["Zoë"]).status_code == 302
    later = lee.get(f"/teacher/class/{ids['other_class']}/cards").get_data(as_text=True)
    assert "Zoë" in later and cards["Zoë"] not in re.sub(r"<svg.*?</svg>", "", later, flags=re.S)


def test_a_roster_with_errors_adds_nobody_and_names_each_bad_row(box):
    app, ids, data = box
    lee = log_in(app, OTHER)
    refused = upload(lee, ids["other_class"], "name,picture,pin\nAsha,sun,\nDara,,\nBo,unicorn,12\n")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "Nothing was imported" in page
    assert "Row 3:" in page and "&#39;Dara&#39; is already in the class" in page
    assert "Row 4:" in page and "unknown picture" in page and "not four digits" in page
    not_utf8 = upload(lee, ids["other_class"], "name\nJosé\n".encode("cp1252"))
    assert not_utf8.status_code == 400 and "UTF-8" in not_utf8.get_data(as_text=True)
    no_file = lee.post(f"/teacher/class/{ids['other_class']}/roster", content_type="multipart/form-data",
                       data={"csrf_token": token(lee, "/teacher/")})
    assert no_file.status_code == 400
    db = connect(data / "box.db")
    assert [p["name"] for p in people.pupils_in_class(db, ids["other_class"])] == ["Dara"]


def test_a_roster_upload_is_bounded_and_needs_the_csrf_token(box):
    app, ids, data = box
    lee = log_in(app, OTHER)
    huge = lee.post(f"/teacher/class/{ids['other_class']}/roster", content_type="multipart/form-data",
                    data={"csrf_token": token(lee, "/teacher/"), "roster": (io.BytesIO(b"name\n" + b"x\n" * 200_000),
                                                                            "big.csv")})
    assert huge.status_code == 413
    just_over = upload(lee, ids["other_class"], b"name\n" + b"a" * (256 * 1024))
    assert just_over.status_code == 400 and "larger than 256 KiB" in just_over.get_data(as_text=True)
    no_token = lee.post(f"/teacher/class/{ids['other_class']}/roster", content_type="multipart/form-data",
                        data={"roster": (io.BytesIO(b"name\nEve\n"), "r.csv")})
    assert no_token.status_code == 400
    stranger = app.test_client().post(f"/teacher/class/{ids['other_class']}/roster",
                                      content_type="multipart/form-data",
                                      data={"roster": (io.BytesIO(b"name\n" + b"x\n" * 50_000), "r.csv")})
    assert stranger.status_code == 413  # a stranger gets the small limit, before the login check
    assert len(people.pupils_in_class(connect(data / "box.db"), ids["other_class"])) == 1


def test_the_exported_roster_has_names_and_pictures_but_no_pins_and_imports_into_another_class(box):
    app, ids, data = box
    admin = log_in(app)
    exported = admin.get(f"/teacher/class/{ids['class_id']}/roster.csv")
    assert exported.mimetype == "text/csv" and "attachment" in exported.headers["Content-Disposition"]
    text = exported.get_data(as_text=True)
    assert text.lstrip("\ufeff").splitlines() == ["name,picture", "Amina,sun", "Bao,fish", "Chloé,cat"]
    assert "pbkdf2" not in text and "1234" not in text
    made = admin.post("/teacher/classes", data={"name": "Class 4 bis", "csrf_token": token(admin, "/teacher/")})
    copy_id = int(made.location.rsplit("/", 1)[1])
    assert upload(admin, copy_id, exported.data).status_code == 200
    assert [p["picture"] for p in people.pupils_in_class(connect(data / "box.db"), copy_id)] == ["sun", "fish", "cat"]


def test_new_pins_for_a_class_need_a_confirmation_end_the_old_pins_and_sessions_and_show_once(box):
    app, ids, data = box
    admin = log_in(app)
    amina = ids["pupils"]["Amina"]
    pupil = app.test_client()
    pupil_login(pupil, amina["ref"], "1234")
    assert pupil.get("/lessons").status_code == 200
    url = f"/teacher/class/{ids['class_id']}/new-pins"
    assert "Make new PINs" in admin.get(url).get_data(as_text=True)
    assert auth.verify_pin(one(connect(data / "box.db"), "SELECT pin_hash FROM pupils WHERE id = ?",
                               (amina["id"],))["pin_hash"], "1234")  # asking is not doing
    shown = admin.post(url, data={"csrf_token": token(admin, url)})
    cards = dict(PIN_ON_CARD.findall(shown.get_data(as_text=True)))
    assert set(cards) == {"Amina", "Bao", "Chloé"} and shown.headers["Cache-Control"] == "no-store"
    assert pupil.get("/lessons").status_code == 302  # logged out with the old PIN
    assert pupil_login(app.test_client(), amina["ref"], "1234").status_code in (400, 429)
    assert pupil_login(app.test_client(), amina["ref"], cards["Amina"]).status_code == 302


def test_a_teacher_moves_a_pupil_to_their_other_class_but_not_onto_a_name_already_there(box):
    app, ids, data = box
    lee = log_in(app, OTHER)
    second = lee.post("/teacher/classes", data={"name": "Class 5 bis", "csrf_token": token(lee, "/teacher/")})
    second_id = int(second.location.rsplit("/", 1)[1])
    page = lee.get(f"/teacher/pupil/{ids['other_pupil']}").get_data(as_text=True)
    assert "Class 5 bis" in page and CLASS_NAME not in page  # only classes this teacher may open
    csrf = token(lee, "/teacher/")
    moved = lee.post(f"/teacher/pupil/{ids['other_pupil']}/move", data={"class_id": str(second_id), "csrf_token": csrf})
    assert moved.status_code == 302
    db = connect(data / "box.db")
    assert people.get_pupil(db, ids["other_pupil"])["class_id"] == second_id
    upload(lee, ids["other_class"], "name\nDara\n")
    clash = lee.post(f"/teacher/pupil/{ids['other_pupil']}/move",
                     data={"class_id": str(ids["other_class"]), "csrf_token": csrf})
    assert clash.status_code == 302 and people.get_pupil(db, ids["other_pupil"])["class_id"] == second_id
    assert "already has a pupil called Dara" in lee.get(clash.location).get_data(as_text=True)


def _all_text(db) -> str:
    """Every text value in every ordinary table of box.db, to look for a name."""
    found = []
    for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE "
                               "'CREATE VIRTUAL%' AND name NOT LIKE '%fts%'").fetchall():
        for row in db.execute(f'SELECT * FROM "{table}"').fetchall():
            found += [f"{table}:{v}" for v in tuple(row) if isinstance(v, str)]
    return "\n".join(found)


def test_removing_a_pupil_after_the_confirmation_erases_everything_of_theirs_and_their_ids_are_never_reused(box):
    app, ids, data = box
    settings = load_settings(data, scheduler_enabled=False, ai_jobs_enabled=False, announce=False)
    box_id, secret = box_identity(settings)
    chloe = ids["pupils"]["Chloé"]
    pupil = app.test_client()
    pupil_login(pupil, chloe["ref"], "2468")
    for response in ("2", "0", "0"):
        assert answer(pupil, "water-cycle", "water-cycle-1", response).status_code == 200
    csrf = token(pupil, "/lesson/water-cycle")
    assert pupil.post("/lesson/water-cycle/watched", json={"start": 0, "end": 20},
                      headers={"X-CSRFToken": csrf}).status_code == 201
    db = connect(data / "box.db")
    db.execute("INSERT INTO companion_log (pupil_id, lesson_id, question, refused, category, created) "
               "VALUES (?, 'water-cycle', 'Chloé asks where rain goes', 0, NULL, 'now')", (chloe["id"],))
    db.execute("INSERT INTO pastoral_alerts (log_id, pupil_id, class_id, question, created) "
               "VALUES (1, ?, ?, 'a worry of Chloé', 'now')", (chloe["id"], ids["class_id"]))
    db.execute("INSERT INTO tablets (id, pupil_id, class_id, first_seen, last_seen) VALUES ('tab-1', ?, ?, 'n', 'n')",
               (chloe["id"], ids["class_id"]))
    mine = statements.pseudonym(secret, chloe["id"])
    outbox = rows(db, "SELECT id, statement FROM outbox ORDER BY id")
    assert len(outbox) >= 4 and all(mine in r["statement"] and "Chlo" not in r["statement"] for r in outbox)
    db.execute("UPDATE outbox SET sent_at = 'then' WHERE id = ?", (outbox[0]["id"],))  # one already went out
    top = {t: one(db, f"SELECT MAX(id) AS n FROM {t}")["n"] for t in ("pupils", "attempts", "chapter_views")}
    assert one(db, "SELECT MAX(id) AS n FROM attempts WHERE pupil_id = ?", (chloe["id"],))["n"] == top["attempts"]

    admin = log_in(app)
    url = f"/teacher/pupil/{chloe['id']}/remove"
    confirm = admin.get(url).get_data(as_text=True)
    assert "answers: 3" in confirm and "questions to the study companion: 1" in confirm
    assert admin.post(url, data={"csrf_token": token(admin, url)}).status_code == 200  # no "yes": asked again
    assert people.get_pupil(db, chloe["id"]) is not None
    done = admin.post(url, data={"csrf_token": token(admin, url), "confirm": "yes"})
    assert done.status_code == 302 and done.location.endswith(f"/teacher/class/{ids['class_id']}")

    assert people.get_pupil(db, chloe["id"]) is None and "Chlo" not in _all_text(db)
    for table in ("attempts", "mastery", "chapter_views", "companion_log", "pastoral_alerts", "tablets"):
        assert one(db, f"SELECT COUNT(*) AS n FROM {table} WHERE pupil_id = ?", (chloe["id"],))["n"] == 0, table
    assert one(db, "SELECT COUNT(*) AS n FROM outbox WHERE statement LIKE ?", (f"%{mine}%",))["n"] == 0
    assert pupil.get("/lessons").status_code == 302  # the pupil's session ended with the account
    assert [p["name"] for p in people.pupils_in_class(db, ids["class_id"])] == ["Amina", "Bao"]

    # a new pupil and new answers get new ids: no statement id or pseudonym of the removed pupil comes back
    newcomer = people.add_pupil(db, ids["class_id"], "Chloé", auth.hash_pin("1357"), "cat")
    assert newcomer["id"] > top["pupils"]
    newcomer_client = app.test_client()
    pupil_login(newcomer_client, newcomer["ref"], "1357")
    answer(newcomer_client, "water-cycle", "water-cycle-1", "0")
    attempt = one(db, "SELECT id FROM attempts WHERE pupil_id = ?", (newcomer["id"],))["id"]
    assert attempt > top["attempts"]
    queued = one(db, "SELECT statement_id FROM outbox WHERE statement LIKE ?",
                 (f"%{statements.pseudonym(secret, newcomer['id'])}%",))
    assert queued["statement_id"] == statements.statement_id(box_id, f"attempt:{attempt}")


def test_a_teacher_sees_and_acknowledges_only_the_disclosures_of_their_own_classes_and_the_admin_sees_all(box):
    from edge_server import companion

    app, ids, data = box
    db = connect(data / "box.db")
    told = companion.Answer("Talk to your teacher now.", refused=True, category="self_harm", disclosure=True)
    companion.log_question(db, ids["pupils"]["Amina"]["id"], None, "someone at home hurts me", told)
    companion.log_question(db, ids["other_pupil"], None, "i want to hurt myself", told)
    amina_alert = one(db, "SELECT id FROM pastoral_alerts WHERE question = 'someone at home hurts me'")["id"]
    db.conn.close()
    lee, admin = log_in(app, OTHER), log_in(app)
    lee_page = lee.get("/teacher/companion").get_data(as_text=True)
    admin_page = admin.get("/teacher/companion").get_data(as_text=True)
    assert "i want to hurt myself" in lee_page and "someone at home hurts me" not in lee_page
    assert "i want to hurt myself" in admin_page and "someone at home hurts me" in admin_page
    refused = lee.post(f"/teacher/companion/alerts/{amina_alert}/acknowledge",
                       data={"csrf_token": token(lee, "/teacher/companion")})
    assert refused.status_code == 404
    acknowledged = admin.post(f"/teacher/companion/alerts/{amina_alert}/acknowledge",
                              data={"csrf_token": token(admin, "/teacher/companion")})
    assert acknowledged.status_code == 302
    db = connect(data / "box.db")
    assert one(db, "SELECT acknowledged_by FROM pastoral_alerts WHERE id = ?", (amina_alert,))["acknowledged_by"] \
        == ids["teacher_id"]
    db.conn.close()
