// Quizzes: the teacher's live results and the projector's counts (polling results.json), and the pupil's answers:
// one attempt_id per question, kept on the tablet until the box acknowledges it, so an answer sent again after a lost
// reply counts once; the pupil's page reloads when the quiz closes or its results are released.
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content;

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, key) { return key in values ? String(values[key]) : whole; });
  }

  // GET url every ms (not while the page is hidden) and hand the JSON to apply; failures wait for the next turn.
  function poll(url, ms, apply) {
    function tick() {
      if (document.hidden) { setTimeout(tick, ms); return; }
      fetch(url, { headers: { Accept: "application/json" }, cache: "no-store", credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
        .then(apply)
        .catch(function () {})
        .then(function () { setTimeout(tick, ms); });
    }
    setTimeout(tick, ms);
  }

  // The teacher's quiz page: the summary line and both results tables follow the answers as they come in.
  var live = document.getElementById("quiz-live");
  if (live) {
    var text = JSON.parse(live.dataset.i18n);
    var marks = { right: "\u2713", wrong: "\u2717", none: "\u00b7" };
    poll(live.dataset.results, parseInt(live.dataset.pollMs, 10) || 3000, function (doc) {
      live.textContent = fill(text.summary, { answered: doc.answered_pupils, size: doc.class_size,
                                              finished: doc.finished_pupils });
      doc.pupils.forEach(function (p) {
        var row = document.querySelector('#by-pupil tr[data-pupil="' + p.id + '"]');
        if (!row) return;
        var cells = row.querySelectorAll("td.cell .mark");
        p.cells.forEach(function (c, i) {
          if (!cells[i]) return;
          cells[i].className = "mark " + c;
          cells[i].textContent = marks[c];
          cells[i].title = text[c];
        });
        row.querySelector(".score").textContent = p.right + " / " + doc.items;
      });
      doc.questions.forEach(function (q) {
        var row = document.querySelector('#by-question tr[data-position="' + q.position + '"]');
        if (!row) return;
        row.querySelector(".answered").textContent = q.answered;
        row.querySelector(".right-pct").textContent = q.percent_right == null ? "\u2013" : q.percent_right + "%";
        row.querySelector(".wrong-answer").textContent = q.common_wrong || "";
      });
    });
  }

  // The projector: how many pupils have answered, each question's count, and (once closed) how many were right.
  var present = document.getElementById("quiz-present");
  if (present) {
    var words = JSON.parse(present.dataset.i18n);
    poll(present.dataset.results, parseInt(present.dataset.pollMs, 10) || 3000, function (doc) {
      document.getElementById("present-count").textContent = doc.answered_pupils + " / " + doc.class_size;
      var badge = document.getElementById("present-state");
      badge.textContent = words[doc.released ? "released" : doc.state] || doc.state;
      badge.className = "badge " + doc.state + (doc.released ? " released" : "");
      doc.questions.forEach(function (q) {
        var stat = present.querySelector('li[data-position="' + q.position + '"] .present-stat');
        if (!stat) return;
        var line = fill(words.answered, { n: q.answered });
        if (doc.state === "closed" && q.percent_right != null) line += " \u00b7 " + fill(words.right, { n: q.percent_right });
        stat.textContent = line;
      });
    });
  }

  // The pupil's quiz page.
  var quiz = document.getElementById("quiz-pupil");
  if (!quiz) return;
  var say = JSON.parse(quiz.dataset.i18n);
  var pupil = (document.getElementById("tablet-status") || { dataset: {} }).dataset.pupil || "";

  function uuid4() {  // crypto.randomUUID needs a secure context (a box on the LAN is plain http); this does not
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function storageKey(form) { return "box-quiz/" + pupil + "/" + quiz.dataset.quiz + "/" + form.dataset.exercise; }

  // The same id until the box has answered: a retry after a lost reply is the same attempt.
  function attemptId(form) {
    var id = null;
    try { id = localStorage.getItem(storageKey(form)); } catch (e) { /* private mode: one id per page */ }
    id = id || form.dataset.attemptId || uuid4();
    form.dataset.attemptId = id;
    try { localStorage.setItem(storageKey(form), id); } catch (e) { /* kept on the form above */ }
    return id;
  }

  function settled(form) {
    try { localStorage.removeItem(storageKey(form)); } catch (e) { /* nothing kept */ }
  }

  function lock(form) {
    form.classList.add("saved");
    Array.prototype.forEach.call(form.querySelectorAll("input, button"), function (el) {
      if (el.type !== "hidden") el.disabled = true;
    });
  }

  quiz.querySelectorAll("form.quiz-item").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var status = form.querySelector(".quiz-status");
      var field = form.elements.response;
      var response = field ? String(field.value || "").trim() : "";
      if (!response) { status.textContent = say.empty; return; }
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      status.textContent = say.sending;
      fetch(form.action, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
        body: JSON.stringify({ exercise_id: form.dataset.exercise, response: response, attempt_id: attemptId(form) })
      }).then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (body) { return { r: r, body: body }; });
      }).then(function (res) {
        if (res.r.ok) {
          settled(form);
          lock(form);
          status.textContent = say.saved;
        } else if (res.r.status === 409) {
          settled(form);
          status.textContent = res.body.error || say.closed;
          if (res.body.reason === "closed") setTimeout(function () { location.reload(); }, 1500);
          else lock(form);
        } else {
          button.disabled = false;
          status.textContent = res.body.error || say.offline;
        }
      }).catch(function () {
        button.disabled = false;
        status.textContent = say.offline;
      });
    });
  });

  // The teacher closes the quiz or releases the results: show the page as it now is.
  poll(quiz.dataset.stateUrl, 4000, function (now) {
    if (now.state !== quiz.dataset.state || String(now.released) !== quiz.dataset.released) location.reload();
  });
})();
