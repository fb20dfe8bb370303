"""Views: a teacher corrects the AI on a recording of theirs: caption lines, chapters, the summary.

Each editor is a plain form (CSRF token, a fingerprint of what it was made from); a refused correction answers 400
with the reason and every field as typed, a save over someone else's newer one 409. The checks are in
edge_server.domain.output_edits; recordings.save_edits stores the correction and rebuilds the companion's index.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext

from edge_server import catalog, recordings
from edge_server.domain import output_edits
from edge_server.domain.output_edits import EditError
from edge_server.web.app import get_db
from edge_server.web.auth import current_teacher, teacher_required

bp = Blueprint("recording_edits", __name__, url_prefix="/teacher/recordings")

CAPTIONS_PAGE = 40  # lines per page: a form of a whole 40-minute lesson would pass the request size limit

# output_edits.MESSAGES in the page's language
ERRORS = {
    "bad_time": lazy_gettext("“%(value)s” is not a time: write seconds (75.5) or minutes:seconds (1:15.5)."),
    "empty_text": lazy_gettext("Line %(line)s has no text."),
    "text_too_long": lazy_gettext("Line %(line)s is longer than %(max)s characters."),
    "end_before_start": lazy_gettext("Line %(line)s ends before it starts."),
    "overlap": lazy_gettext("Line %(line)s starts before line %(previous)s ends."),
    "past_end": lazy_gettext("Line %(line)s goes past the end of the recording (%(end)s)."),
    "no_lines": lazy_gettext("The captions need at least one line."),
    "no_chapters": lazy_gettext("The lesson needs at least one chapter."),
    "empty_title": lazy_gettext("Chapter %(line)s has no title."),
    "title_too_long": lazy_gettext("The title of chapter %(line)s is longer than %(max)s characters."),
    "first_start": lazy_gettext("The first chapter starts at 0:00."),
    "order": lazy_gettext("Chapter %(line)s must start at least 1 second after chapter %(previous)s."),
    "chapter_past_end": lazy_gettext("Chapter %(line)s starts too close to the end of the recording (%(end)s)."),
    "unknown_kp": lazy_gettext("Chapter %(line)s has a knowledge point this lesson does not teach."),
    "merge_last": lazy_gettext("The last chapter has no next chapter to merge with."),
    "split_outside": lazy_gettext("%(at)s is not inside a chapter, at least 1 second from its start and end."),
    "empty_summary": lazy_gettext("The summary is empty."),
    "summary_too_long": lazy_gettext("The summary has %(words)s words; at most %(max)s."),
}
CONFLICT = lazy_gettext("Someone else saved a correction while you were editing. Check the fields below against "
                        "the lesson, then save again.")


def _error(exc: EditError) -> str:
    """The reason in the page's language (the template puts "Not saved." before it)."""
    return str(ERRORS[exc.code]) % exc.params


@bp.app_template_filter("clock")
def clock(seconds: float | None) -> str:
    """Seconds as the editors show them: m:ss with milliseconds when there are any."""
    return output_edits.format_time(float(seconds or 0.0))


def _recording(lesson_id: str) -> dict[str, Any]:
    """The recording the logged-in teacher may correct: 404 for any other lesson, 403 when it is not theirs."""
    rec = recordings.recording_for_edit(get_db(), lesson_id)
    if rec is None:
        abort(404)
    if not recordings.may_edit(current_teacher(), rec["uploaded_by"]):
        abort(403)
    return rec


def _content(rec: dict[str, Any], kind: str) -> str | None:
    found = rec["outputs"].get(kind)
    return found["content"] if found else None


def _json(rec: dict[str, Any], kind: str) -> dict[str, Any]:
    try:
        value = json.loads(_content(rec, kind) or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _common(rec: dict[str, Any]) -> dict[str, Any]:
    lesson = catalog.public_lesson(get_db(), rec["id"]) or {}
    return {"rec": rec, "media": lesson.get("media"), "media_lang": lesson.get("language")}


def _not_ready(rec: dict[str, Any]) -> Any:
    return render_template("recordings/edit.html", not_ready=True, **_common(rec)), 409


@bp.get("/<lesson_id>/edit")
@teacher_required
def overview(lesson_id: str) -> Any:
    """What the AI made of a recording, what was corrected and by whom, with the three editors."""
    rec = _recording(lesson_id)
    if "chapters" not in rec["outputs"]:
        return _not_ready(rec)
    chapters = output_edits.read_chapters(_content(rec, "chapters"))
    kp_names = {kp["id"]: kp["name"] for kp in rec["knowledge_points"]}
    lines = output_edits.parse_vtt(_content(rec, "captions_vtt") or "")
    return render_template("recordings/edit.html", not_ready=False, chapters=chapters, kp_names=kp_names,
                           caption_count=len(lines), summary=_json(rec, "summary").get("summary") or "",
                           **_common(rec))


# -- captions ------------------------------------------------------------------------------------------------------

def _first() -> int:
    try:
        return max(0, int(request.values.get("first", "0")))
    except ValueError:
        return 0


def _duration(rec: dict[str, Any]) -> float | None:
    return float(_json(rec, "transcript").get("duration") or 0.0) or None


@bp.route("/<lesson_id>/edit/captions", methods=["GET", "POST"])
@teacher_required
def captions(lesson_id: str) -> Any:
    """The caption lines, a page at a time: start, end and text of each, a line removed or added."""
    rec = _recording(lesson_id)
    if "captions_vtt" not in rec["outputs"]:
        return _not_ready(rec)
    lines = output_edits.parse_vtt(_content(rec, "captions_vtt") or "")
    version = output_edits.content_version(_content(rec, "captions_vtt"))
    first = min(_first(), max(0, len(lines) - 1))
    first -= first % CAPTIONS_PAGE
    if request.method == "GET":
        rows = [output_edits.CaptionRow(first + i + 1, output_edits.format_time(line.start),
                                        output_edits.format_time(line.end), line.text)
                for i, line in enumerate(lines[first:first + CAPTIONS_PAGE])]
        return _captions_page(rec, lines, first, rows, version)
    try:
        count = max(0, min(int(request.form.get("count", "0")), CAPTIONS_PAGE))
    except ValueError:
        abort(400)
    form = request.form
    rows = [output_edits.CaptionRow(first + i + 1, form.get(f"start-{i}", ""), form.get(f"end-{i}", ""),
                                    form.get(f"text-{i}", ""), bool(form.get(f"delete-{i}")))
            for i in range(count)]
    new_row = output_edits.CaptionRow(len(lines) + 1, form.get("start-new", ""), form.get("end-new", ""),
                                      form.get("text-new", ""), new=True)
    if form.get("version") != version:
        return _captions_page(rec, lines, first, rows, version, str(CONFLICT), 409, new_row)
    kept = [output_edits.CaptionRow(n + 1, output_edits.format_time(line.start), output_edits.format_time(line.end),
                                    line.text) for n, line in enumerate(lines) if not first <= n < first + count]
    try:
        checked = output_edits.caption_lines(kept[:first] + rows + [new_row] + kept[first:], _duration(rec))
        contents = output_edits.captions_outputs(checked, _json(rec, "transcript"))
        recordings.save_edits(get_db(), rec["media_sha256"], contents, current_teacher()["id"],
                              {"captions_vtt": version})
    except EditError as exc:
        return _captions_page(rec, lines, first, rows, version, _error(exc), 400, new_row)
    except recordings.EditConflict:
        return _captions_page(rec, lines, first, rows, version, str(CONFLICT), 409, new_row)
    flash(gettext("Captions saved. Pupils and the study helper use them now."), "ok")
    return redirect(url_for("recording_edits.captions", lesson_id=lesson_id, first=first), code=303)


def _captions_page(rec: dict[str, Any], lines: list[Any], first: int, rows: list[Any], version: str,
                   error: str | None = None, status: int = 200, new_row: Any = None) -> Any:
    pages = [(n, output_edits.format_time(lines[n].start)) for n in range(0, len(lines), CAPTIONS_PAGE)]
    return render_template("recordings/edit_captions.html", rows=rows, first=first, total=len(lines), pages=pages,
                           version=version, error=error, new_row=new_row, page_size=CAPTIONS_PAGE,
                           duration=_duration(rec), **_common(rec)), status


# -- chapters ------------------------------------------------------------------------------------------------------

@bp.route("/<lesson_id>/edit/chapters", methods=["GET", "POST"])
@teacher_required
def chapters(lesson_id: str) -> Any:
    """The chapters: start (moves the boundary with the one before), title, knowledge point; merge and split."""
    rec = _recording(lesson_id)
    if "chapters" not in rec["outputs"]:
        return _not_ready(rec)
    current = output_edits.read_chapters(_content(rec, "chapters"))
    end = output_edits.lesson_end(current, _json(rec, "transcript"))
    version = output_edits.content_version(_content(rec, "chapters"))
    if request.method == "GET":
        rows = [output_edits.ChapterRow(output_edits.format_time(c.start), c.title, c.knowledge_point or "")
                for c in current]
        return _chapters_page(rec, rows, end, version)
    form = request.form
    try:
        count = max(0, min(int(form.get("count", "0")), 200))
    except ValueError:
        abort(400)
    rows = [output_edits.ChapterRow(form.get(f"start-{i}", ""), form.get(f"title-{i}", ""), form.get(f"kp-{i}", ""))
            for i in range(count)]
    split = {"at": form.get("split_at", ""), "title": form.get("split_title", "")}
    if form.get("version") != version:
        return _chapters_page(rec, rows, end, version, str(CONFLICT), 409, split)
    action = form.get("action", "save")
    try:
        edited = output_edits.edit_chapters(rows, end, {kp["id"] for kp in rec["knowledge_points"]})
        if action.startswith("merge-") and action[6:].isdigit():
            edited = output_edits.merge_chapters(edited, int(action[6:]))
        elif action == "split":
            edited = output_edits.split_chapter(edited, output_edits.parse_time(split["at"]), split["title"])
        recordings.save_edits(get_db(), rec["media_sha256"], output_edits.chapters_outputs(edited),
                              current_teacher()["id"], {"chapters": version})
    except EditError as exc:
        return _chapters_page(rec, rows, end, version, _error(exc), 400, split)
    except recordings.EditConflict:
        return _chapters_page(rec, rows, end, version, str(CONFLICT), 409, split)
    flash(gettext("Chapters saved. Pupils and the study helper use them now."), "ok")
    return redirect(url_for("recording_edits.chapters", lesson_id=lesson_id), code=303)


def _chapters_page(rec: dict[str, Any], rows: list[Any], end: float, version: str, error: str | None = None,
                   status: int = 200, split: dict[str, str] | None = None) -> Any:
    return render_template("recordings/edit_chapters.html", rows=rows, end=end, version=version, error=error,
                           split=split or {"at": "", "title": ""}, **_common(rec)), status


# -- summary -------------------------------------------------------------------------------------------------------

@bp.route("/<lesson_id>/edit/summary", methods=["GET", "POST"])
@teacher_required
def summary(lesson_id: str) -> Any:
    """The summary, rewritten within the pipeline's length."""
    rec = _recording(lesson_id)
    if "summary" not in rec["outputs"]:
        return _not_ready(rec)
    previous = _json(rec, "summary")
    version = output_edits.content_version(_content(rec, "summary"))
    if request.method == "GET":
        return _summary_page(rec, previous.get("summary") or "", version)
    text = request.form.get("summary", "")[:output_edits.MAX_SUMMARY_CHARS * 2]
    if request.form.get("version") != version:
        return _summary_page(rec, text, version, str(CONFLICT), 409)
    try:
        checked = output_edits.check_summary(text)
        recordings.save_edits(get_db(), rec["media_sha256"], output_edits.summary_outputs(checked, previous),
                              current_teacher()["id"], {"summary": version})
    except EditError as exc:
        return _summary_page(rec, text, version, _error(exc), 400)
    except recordings.EditConflict:
        return _summary_page(rec, text, version, str(CONFLICT), 409)
    flash(gettext("Summary saved. Pupils see it now."), "ok")
    return redirect(url_for("recording_edits.summary", lesson_id=lesson_id), code=303)


def _summary_page(rec: dict[str, Any], text: str, version: str, error: str | None = None, status: int = 200) -> Any:
    return render_template("recordings/edit_summary.html", text=text, version=version, error=error,
                           max_words=output_edits.SUMMARY_MAX_WORDS, **_common(rec)), status


def init_app(app: Flask) -> None:
    """Register this blueprint."""
    app.register_blueprint(bp)
