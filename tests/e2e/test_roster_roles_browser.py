"""Real Chromium against a real `edge-server serve`: a teacher imports a class list of 35 and prints its login cards
(one A4 page), removes a pupil; a teacher cannot open another teacher's class while the admin can; the new pages
on a tablet and a projector in English, French and Chinese."""

from __future__ import annotations

import re

import pytest

from edge_server.store import people
from edge_server.store.db import open_box_db
from edge_server.web import auth
from tests.e2e.box_server import prepare, serve
from tests.e2e.pages_data import CLASS_NAME, TEACHER
from tests.e2e.test_browser_pages import csp_violations

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]  # tests/e2e/conftest.py requires Chromium

LEE = ("ms-lee", "another-long-password")
TABLET = {"width": 800, "height": 1280}
PROJECTOR = {"width": 1920, "height": 1080}
LOCALES = {"en": "en-GB", "fr": "fr-FR", "zh": "zh-CN"}
NAMES = ([f"Pupil {i:02d}" for i in range(1, 28)]
         + ["Zoë Martin", "Amélie-Françoise Nguyen", "王小明", "李华", "Diallo, Awa", "Ève", "Иван",
            "Kofi Mensah-Boateng"])
A4_POINTS = (595, 842)  # 210 x 297 mm


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    root = tmp_path_factory.mktemp("roster-box")
    ids = prepare(root / "var", root / "keys")
    db = open_box_db(root / "var" / "box.db")
    try:
        ids["lee_id"] = people.add_teacher(db, LEE[0], auth.hash_password(LEE[1]), "Ms Lee")
        ids["lee_class"] = people.add_class(db, "Class 5", ids["lee_id"])
        ids["spare_class"] = people.add_class(db, "Class 5 bis", ids["lee_id"])
    finally:
        db.conn.close()
    with serve(root / "var", root / "serve.log") as base:
        yield base, ids, root


def log_in(page, base: str, who: tuple[str, str]) -> None:
    page.goto(base + "/teacher/login")
    page.locator("input[name=username]").fill(who[0])
    page.locator("input[name=password]").fill(who[1])
    page.locator("form.stack button[type=submit]").click()
    page.wait_for_url("**/teacher/")


def pdf_pages(data: bytes) -> list[tuple[float, float]]:
    """The page sizes (points) of a PDF, read from its page objects (Chromium writes them uncompressed)."""
    assert data.startswith(b"%PDF-")
    count = len(re.findall(rb"/Type\s*/Page(?![s\w])", data))
    boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", data)
    assert count and boxes, data[:400]
    return [(float(w), float(h)) for w, h in boxes][:count] if len(boxes) >= count else [
        (float(boxes[0][0]), float(boxes[0][1]))] * count


def test_a_teacher_imports_35_pupils_and_prints_their_login_cards_on_one_a4_page(box, browser, tmp_path):
    base, ids, _root = box
    csv_file = tmp_path / "class-5.csv"
    pictures = people.PICTURES
    csv_file.write_text("name,picture,pin\n" + "".join(
        f'"{n}",{pictures[i % len(pictures)] if i % 3 else ""},{"0427" if n == "李华" else ""}\n'
        for i, n in enumerate(NAMES)), encoding="utf-8")
    context = browser.new_context(viewport=TABLET, locale="en-GB")
    page = context.new_page()
    blocked = csp_violations(page)
    log_in(page, base, LEE)
    page.goto(f"{base}/teacher/class/{ids['lee_class']}")
    page.locator("#roster input[name=roster]").set_input_files(str(csv_file))
    page.locator("#roster button.go").click()
    page.wait_for_selector(".cards")
    assert "35 pupils added" in page.locator(".flash.ok").inner_text()
    cards = page.locator("li.card")
    assert cards.count() == 35
    pins = {cards.nth(i).locator(".name").evaluate("e => e.firstChild.textContent.trim()"):
            cards.nth(i).locator(".pin b").inner_text() for i in range(35)}
    assert set(pins) == set(NAMES) and pins["李华"] == "0427"
    assert all(re.fullmatch(r"\d{4}", pin) for pin in pins.values()) and len(set(pins.values())) == 35
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")

    pdf = tmp_path / "login-cards.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True, prefer_css_page_size=True)
    assert pdf.is_file() and pdf.stat().st_size > 10_000
    sizes = pdf_pages(pdf.read_bytes())
    assert len(sizes) == 1, f"{len(sizes)} pages"
    assert abs(sizes[0][0] - A4_POINTS[0]) < 2 and abs(sizes[0][1] - A4_POINTS[1]) < 2
    page.emulate_media(media="print")  # on paper: the cards alone, no page bar or buttons
    assert page.locator(".bar").is_hidden() and page.get_by_role("button", name="Print").is_hidden()
    page.emulate_media(media="screen")
    assert blocked == []

    pupil = browser.new_context(viewport=TABLET, locale="zh-CN").new_page()  # a card's PIN opens the lessons
    pupil.goto(f"{base}/class/{ids['lee_class']}")
    pupil.get_by_role("link", name="王小明").click()
    for digit in pins["王小明"]:
        pupil.locator(f'.key[data-key="{digit}"]').click()
    pupil.wait_for_url("**/lessons")
    pupil.context.close()

    page.goto(f"{base}/teacher/class/{ids['lee_class']}/cards")  # later: the same cards, a line for the PIN
    assert page.locator("li.card").count() == 35 and page.locator("li.card .pin b").count() == 0
    context.close()


def test_a_teacher_moves_and_removes_a_pupil_after_a_confirmation(box, browser):
    base, ids, _root = box
    db = open_box_db(box[2] / "var" / "box.db")
    try:
        people.add_pupil(db, ids["lee_class"], "Temporary Tom", auth.hash_pin("8642"), "boat")
        people.add_pupil(db, ids["lee_class"], "Moving Mia", auth.hash_pin("8643"), "tree")
    finally:
        db.conn.close()
    context = browser.new_context(viewport=PROJECTOR, locale="en-GB")
    page = context.new_page()
    log_in(page, base, LEE)
    page.goto(f"{base}/teacher/class/{ids['lee_class']}")
    page.get_by_role("link", name="Moving Mia").click()
    page.locator("select[name=class_id]").select_option(label="Class 5 bis")
    page.get_by_role("button", name="Move").click()
    page.wait_for_url(f"**/teacher/class/{ids['lee_class']}")
    assert "Moving Mia is now in Class 5 bis." in page.locator(".flash.ok").inner_text()
    page.get_by_role("link", name="Temporary Tom").click()
    page.get_by_role("link", name="Remove…").click()
    assert "Remove Temporary Tom from the box?" in page.locator("h1").inner_text()
    page.get_by_role("button", name="Remove Temporary Tom").click()
    page.wait_for_url(f"**/teacher/class/{ids['lee_class']}")
    assert "Temporary Tom was removed" in page.locator(".flash.ok").inner_text()
    assert page.get_by_role("link", name="Temporary Tom").count() == 0
    page.goto(f"{base}/teacher/class/{ids['spare_class']}")
    assert page.get_by_role("link", name="Moving Mia").count() == 1
    context.close()


def test_a_teacher_cannot_open_another_teachers_class_while_the_admin_can(box, browser):
    base, ids, _root = box
    lee = browser.new_context(viewport=TABLET, locale="en-GB").new_page()
    log_in(lee, base, LEE)
    tiles = lee.locator(".tiles").inner_text()
    assert "Class 5" in tiles and CLASS_NAME not in tiles
    assert lee.get_by_role("link", name="Box admin").count() == 0
    other = f"{base}/teacher/class/{ids['class_id']}"
    assert lee.goto(other).status == 403
    assert lee.goto(f"{base}/teacher/dashboard/{ids['class_id']}").status == 403
    assert lee.goto(f"{base}/teacher/admin").status == 403
    assert lee.goto(f"{base}/teacher/admin/teachers").status == 403

    admin = browser.new_context(viewport=PROJECTOR, locale="en-GB").new_page()
    log_in(admin, base, TEACHER)
    tiles = admin.locator(".tiles").inner_text()
    assert "Class 5" in tiles and CLASS_NAME in tiles and "Ms Lee" in tiles
    assert admin.goto(other).status == 200 and admin.locator("h1").inner_text() == CLASS_NAME
    assert admin.goto(f"{base}/teacher/class/{ids['lee_class']}").status == 200
    admin.goto(f"{base}/teacher/admin/teachers")
    row = admin.locator("tr", has_text="Class 5 bis")
    row.locator("select[name=teacher_id]").select_option(label="Ms Teacher")
    row.get_by_role("button", name="Hand over").click()
    admin.wait_for_url("**/teacher/admin/teachers")
    assert "Class 5 bis now belongs to Ms Teacher." in admin.locator(".flash.ok").inner_text()
    assert lee.goto(f"{base}/teacher/class/{ids['spare_class']}").status == 403
    lee.context.close()
    admin.context.close()


PAGES = {  # page -> (path, a word of its title in en / fr / zh)
    # the class page's roster panel must fit whole; its wide tablets table scrolls inside its own box
    "class#roster": ("/teacher/class/{lee_class}", ("Class list", "Liste de la classe", "班级名单")),
    "import": ("/teacher/class/{lee_class}/roster", ("Import a class list", "Importer une liste", "导入班级名单")),
    "cards": ("/teacher/class/{lee_class}/cards", ("Login cards", "Cartes de connexion", "登录卡")),
    "new-pins": ("/teacher/class/{lee_class}/new-pins", ("New PINs", "Nouveaux codes", "生成新密码")),
    "teachers": ("/teacher/admin/teachers", ("Who can log in", "Qui peut se connecter", "可以登录的人")),
}


@pytest.mark.parametrize("size", ["tablet", "projector"])
def test_the_roster_and_teacher_pages_fit_a_tablet_and_a_projector_in_three_languages(box, browser, size):
    base, ids, _root = box
    viewport = TABLET if size == "tablet" else PROJECTOR
    for lang, locale in LOCALES.items():
        context = browser.new_context(viewport=viewport, locale=locale)
        page = context.new_page()
        blocked = csp_violations(page)
        log_in(page, base, TEACHER)
        for name, (path, titles) in PAGES.items():
            answer = page.goto(base + path.format(**ids) + f"?lang={lang}")
            assert answer.status == 200, (name, lang)
            assert page.locator("html").get_attribute("lang").startswith(lang), (name, lang)
            assert titles[list(LOCALES).index(lang)] in page.locator("main").inner_text(), (name, lang)
            part = "#" + name.split("#")[1] if "#" in name else "main"
            overflow = page.evaluate(f"[...document.querySelectorAll('{part}, {part} *')].reduce((m, e) => "
                                     "Math.max(m, e.getBoundingClientRect().right), 0) - window.innerWidth")
            assert overflow <= 0, (name, lang, overflow)
            assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth"), (name, lang)
        assert blocked == [], lang
        context.close()
