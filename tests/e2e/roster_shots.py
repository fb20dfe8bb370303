"""Screenshots of the roster and teacher pages (part of `make screenshots`, tests/e2e/screenshots.py): a class's login
cards with new PINs, the class-list import page with a refused file's errors, a pupil's move/remove page and the
admin's teachers page, at tablet and projector sizes in en, fr and zh; and the cards printed to PDF (A4).

A second teacher and a class of 35 (made through the import page) are added first.
"""

from __future__ import annotations

from pathlib import Path

from tests.e2e.pages_data import TEACHER

NAMES = ([f"Pupil {i:02d}" for i in range(1, 28)]
         + ["Zoë Martin", "Amélie-Françoise Nguyen", "王小明", "李华", "Diallo, Awa", "Ève", "Kofi Mensah", "Sara"])
PICTURES = ("sun", "star", "moon", "tree", "fish", "cat", "flower", "boat")
BAD_ROSTER = "name,picture,pin\nAsha,sun,\nBao,dragon,\n,cat,\nChloé,,123\n"


def _log_in(page, base: str) -> None:
    """The pages' teacher (the admin) logs in, whatever the page's language."""
    page.goto(f"{base}/teacher/login")
    page.locator("input[name=username]").fill(TEACHER[0])
    page.locator("input[name=password]").fill(TEACHER[1])
    page.locator("form.stack button[type=submit]").click()
    page.wait_for_url("**/teacher/")


def _setup(browser, base: str, tmp: Path) -> int:
    """Ms Lee and her Class 6 of 35 pupils, made through the admin's and the class's pages; Class 6's id."""
    page = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
    _log_in(page, base)
    page.goto(f"{base}/teacher/admin/teachers")
    form = page.locator("form[action$='/teacher/admin/teachers']")
    form.locator("input[name=username]").fill("ms-lee")
    form.locator("input[name=display_name]").fill("Ms Lee")
    form.locator("input[name=password]").fill("another-long-password")
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/teacher/admin/teachers")
    page.goto(f"{base}/teacher/")
    page.locator("input[name=name]").fill("Class 6")
    page.locator("form[action$='/teacher/classes'] button").click()
    page.wait_for_url("**/teacher/class/*")
    class_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    roster = tmp / "class-6.csv"
    roster.write_text("name,picture\n" + "".join(f'"{n}",{PICTURES[i % 8]}\n' for i, n in enumerate(NAMES)),
                      encoding="utf-8")
    page.locator("#roster input[name=roster]").set_input_files(str(roster))
    page.locator("#roster button.go").click()
    page.wait_for_selector(".cards")
    page.context.close()
    return class_id


def _shooter(page, out: Path, size: str, lang: str, shots: list[Path]):
    def shot(name: str) -> None:
        path = out / f"{name}-{size}-{lang}.png"
        page.screenshot(path=str(path))
        shots.append(path)

    return shot


def roster_shots(browser, base: str, sizes: dict[str, tuple[int, int]], locales: dict[str, str],
                 out: Path) -> list[Path]:
    """Shoot the pages; return the files written."""
    import tempfile

    shots: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        class_id = _setup(browser, base, Path(tmp))
        bad = Path(tmp) / "bad.csv"
        bad.write_text(BAD_ROSTER, encoding="utf-8")
        for lang, locale in locales.items():
            for size, (width, height) in sizes.items():
                page = browser.new_context(viewport={"width": width, "height": height}, locale=locale).new_page()
                _log_in(page, base)
                shot = _shooter(page, out, size, lang, shots)

                page.goto(f"{base}/teacher/class/{class_id}/new-pins?lang={lang}")
                page.locator("main form button.go").click()
                page.wait_for_selector(".cards")
                shot("login-cards")
                if size == "tablet" and lang == "en":
                    path = out / "login-cards-a4.pdf"
                    page.pdf(path=str(path), format="A4", print_background=True, prefer_css_page_size=True)
                    shots.append(path)
                page.goto(f"{base}/teacher/class/{class_id}/roster")
                page.locator("input[name=roster]").set_input_files(str(bad))
                page.locator("main form button.go").click()
                page.wait_for_selector(".roster-errors")
                shot("roster-import")
                page.goto(f"{base}/teacher/class/{class_id}")
                page.locator("#roster").scroll_into_view_if_needed()
                shot("class-roster")
                page.get_by_role("link", name="Zoë Martin").click()
                shot("pupil-manage")
                page.goto(f"{base}/teacher/admin/teachers")
                shot("teachers")
                page.context.close()
    return shots
