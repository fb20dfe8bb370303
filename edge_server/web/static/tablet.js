// Tablets that keep working when the Wi-Fi drops (loaded on every page, before box.js):
// - every answer gets an id made here (attempt_id) and waits in IndexedDB until the box acknowledges it, sent at
//   once when the box is in reach and again from the queue at each contact (the box records an id once);
// - choice and number exercises get feedback here while the box is out of reach (the box's grade wins when the
//   answer arrives);
// - each contact measures the tablet's clock against the box's, so answers keep the time they were given;
// - the service worker (sw.js) keeps the app, the pupil's lessons and, within the class's budget, their media.
(function () {
  "use strict";
  var store = window.boxStore;
  var bar = document.getElementById("tablet-status");
  if (!store || !window.indexedDB || !bar) return;
  var text = JSON.parse(bar.dataset.i18n || "{}");
  var pupil = bar.dataset.pupil || "";
  var lang = document.documentElement.lang || "en";
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var BATCH = 50, TIMEOUT_MS = 8000, RETRY_MS = 15000, REPORT_EVERY_MS = 5 * 60 * 1000, REFRESH_EVERY_MS = 60 * 1000;
  var state = { tablet: null, offset: 0, lastContact: null, inTouch: false, draining: null, needsLogin: false,
                offline: null, keys: {}, retry: null, reported: 0, reportedState: null, again: false };

  function uuid4() {  // crypto.randomUUID needs a secure context; getRandomValues does not
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function timed(url, options) {
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, TIMEOUT_MS);
    return fetch(url, Object.assign({ signal: controller.signal, credentials: "same-origin" }, options || {}))
      .finally(function () { clearTimeout(timer); });
  }

  function lessonOnPage() {
    var player = document.getElementById("player");
    return player ? player.dataset.lesson : null;
  }

  function csrf() { return csrfMeta ? csrfMeta.content : ""; }

  // ---------------------------------------------------------------- offline grading (as edge_server/domain/grading.py)
  function parseNumber(value) {
    var raw = String(value).normalize("NFKC").trim().replace(/\u2212/g, "-").replace(/%+$/, "").trim();
    var fraction = /^([+-]?)(?:(\d+)\s+)?(\d+)\s*\/\s*(\d+)$/.exec(raw);
    if (fraction) {
      if (parseInt(fraction[4], 10) === 0) return null;
      var v = parseInt(fraction[3], 10) / parseInt(fraction[4], 10) + parseInt(fraction[2] || "0", 10);
      return fraction[1] === "-" ? -v : v;
    }
    var compact = raw.replace(/(?<=\d)[\s\u00a0\u202f](?=\d{3}\b)/g, "");
    if (compact.indexOf(",") >= 0 && compact.indexOf(".") < 0 && compact.split(",").length === 2) {
      compact = compact.replace(",", ".");
    }
    if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(compact)) return null;
    var n = parseFloat(compact);
    return isFinite(n) ? n : null;
  }

  function gradeHere(key, response) {  // true / false, or null when this tablet cannot tell
    if (!key) return null;
    if (key.kind === "choice") {
      if (!/^\s*[+-]?\d+\s*$/.test(response)) return false;
      return key.answer.indexOf(parseInt(response, 10)) >= 0;
    }
    if (key.kind === "number") {
      var given = parseNumber(response);
      if (given === null) return false;
      return key.answer.some(function (target) {
        var expected = typeof target === "number" ? target : parseNumber(target);
        if (expected === null) return false;
        if (key.tolerance && key.tolerance > 0) return Math.abs(given - expected) <= key.tolerance + 1e-9;
        return Math.abs(given - expected) <= Math.max(1e-6 * Math.max(Math.abs(given), Math.abs(expected)), 1e-9);
      });
    }
    return null;
  }
  window.boxGrade = { parseNumber: parseNumber, grade: gradeHere };

  // ---------------------------------------------------------------- the status line
  function clock(ms) {
    try { return new Date(ms).toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" }); }
    catch (e) { return new Date(ms).toTimeString().slice(0, 5); }
  }

  function show() {
    Promise.all([store.count("answers"), store.count("views")]).then(function (counts) {
      var waiting = counts[0], parts = [];
      if (!pupil && !waiting) { bar.hidden = true; return; }  // nobody logged in and nothing to send: say nothing
      if (waiting === 1) parts.push(text.waiting_one);
      else if (waiting > 1) parts.push(text.waiting_many.replace("{n}", waiting));
      if (state.inTouch) parts.push(text.in_touch);
      else if (state.lastContact) parts.push(text.last_contact.replace("{time}", clock(state.lastContact)));
      else parts.push(text.never_in_touch);
      if (state.needsLogin && waiting) parts.push(text.log_in_again);
      var kept = state.offline;
      var lessonId = lessonOnPage();
      var here = kept && kept.pupil === pupil && lessonId ?
        kept.lessons.filter(function (l) { return l.id === lessonId; })[0] : null;
      if (here) parts.push(here.has_media && !here.media ? text.kept_no_media : text.kept_here);
      if (kept && kept.error === "quota") parts.push(text.storage_full);
      else if (kept && kept.error) parts.push(text.storage_error);
      if (!("serviceWorker" in navigator) && pupil) parts.push(text.no_offline);
      bar.textContent = parts.join(" · ");
      bar.dataset.waiting = String(waiting);
      bar.dataset.inTouch = String(state.inTouch);
      bar.hidden = false;
    }).catch(function () {});
  }

  // ---------------------------------------------------------------- contact with the box
  function tabletId() {
    if (state.tablet) return Promise.resolve(state.tablet);
    return store.meta("tablet").then(function (id) {
      if (id) return (state.tablet = id);
      id = uuid4();
      return store.setMeta("tablet", id).then(function () { return (state.tablet = id); });
    });
  }

  function touched(ok) {
    state.inTouch = ok;
    if (ok) {
      state.lastContact = Date.now();
      store.setMeta("last_contact", state.lastContact).catch(function () {});
    }
    show();
  }

  // The box's time against this tablet's (half the round trip either side): box minus tablet, in milliseconds.
  function hello() {
    return tabletId().then(function (id) {
      var sent = Date.now();
      return timed("/tablet/hello?tablet=" + encodeURIComponent(id), { cache: "no-store",
                                                                       headers: { Accept: "application/json" } })
        .then(function (r) {
          if (!r.ok) throw new Error(String(r.status));
          return r.json().then(function (data) {
            var back = Date.now();
            state.offset = Math.round(data.time - (sent + back) / 2);
            if (csrfMeta && data.csrf) csrfMeta.content = data.csrf;
            var saves = [store.setMeta("clock_offset_ms", state.offset)];
            if (data.pupil && data.token) {
              saves.push(store.setMeta("token:" + data.pupil.ref, data.token));
              state.needsLogin = false;
            }
            touched(true);
            return Promise.all(saves).then(function () { return data; });
          });
        });
    });
  }

  function offlineState() {
    return store.meta("offline").then(function (kept) { state.offline = kept || null; return state.offline; });
  }

  function report() {
    var kept = state.offline || {};
    return {
      waiting: 0, clock_offset_ms: state.offset,
      lessons: (kept.lessons || []).map(function (l) { return l.id; }),
      storage_bytes: kept.usage || null, storage_error: kept.error || null
    };
  }

  function reportKey() {
    var r = report();
    return JSON.stringify([r.lessons, r.storage_error]);
  }

  function applyResult(item, result) {
    var form = document.getElementById("ex-" + item.exercise_id);
    if (!form || form.dataset.attempt !== item.attempt_id || !result) return;
    verdict(form, result.correct, result.feedback, result.hint !== null && result.hint !== undefined, false);
  }

  function sendBatch(ref, token, answers, views, waiting) {
    var body = { tablet: state.tablet, token: token, answers: answers, views: views,
                 state: Object.assign(report(), { waiting: waiting }) };
    return timed("/tablet/sync", { method: "POST", headers: { "Content-Type": "application/json",
                                                               Accept: "application/json" },
                                   body: JSON.stringify(body) })
      .then(function (r) {
        if (r.status === 401) { if (ref === pupil) state.needsLogin = true; return null; }  // kept until a login
        if (!r.ok) throw new Error(String(r.status));
        return r.json();
      })
      .then(function (data) {
        if (!data) return false;
        touched(true);
        var done = [];
        data.answers.forEach(function (a, i) {
          applyResult(answers[i], a.result);
          done.push(store.del("answers", answers[i].attempt_id));
        });
        data.views.forEach(function (v, i) { done.push(store.del("views", views[i].view_id)); });
        return Promise.all(done).then(function () { return true; });
      });
  }

  // Send every queued answer and view, oldest first, pupil by pupil, with that pupil's sync token.
  function drain(force) {
    if (state.draining) {  // one at a time; a forced one asked meanwhile runs after (it has news to report)
      if (force) state.again = true;
      return state.draining;
    }
    state.draining = Promise.all([tabletId(), store.all("answers"), store.all("views"), offlineState()])
      .then(function (found) {
        var answers = found[1], views = found[2];
        var byAnswered = function (a, b) { return a.answered_at - b.answered_at; };
        answers.sort(byAnswered);
        views.sort(function (a, b) { return a.watched_at - b.watched_at; });
        var refs = {};
        answers.concat(views).forEach(function (x) { refs[x.pupil] = true; });
        var news = reportKey() !== state.reportedState;  // other lessons kept, or a storage error
        if (pupil && (force || news || Date.now() - state.reported > REPORT_EVERY_MS)) refs[pupil] = true;
        var chain = Promise.resolve();
        Object.keys(refs).forEach(function (ref) {
          chain = chain.then(function () {
            return store.meta("token:" + ref).then(function (token) {
              if (!token) { if (ref === pupil) state.needsLogin = answers.length > 0; return; }
              var mine = answers.filter(function (a) { return a.pupil === ref; });
              var seen = views.filter(function (v) { return v.pupil === ref; });
              var waiting = mine.length;
              var step = function () {
                var a = mine.splice(0, BATCH), v = seen.splice(0, BATCH);
                return sendBatch(ref, token, a, v, waiting).then(function (ok) {
                  waiting -= a.length;
                  if (ok && ref === pupil) {
                    state.reported = Date.now();
                    state.reportedState = reportKey();
                    store.setMeta("reported", { at: state.reported, state: state.reportedState }).catch(function () {});
                  }
                  if (ok && (mine.length || seen.length)) return step();
                });
              };
              return step();
            });
          });
        });
        return chain;
      })
      .catch(function () { touched(false); })
      .finally(function () {
        state.draining = null;
        show();
        schedule();
        if (state.again) { state.again = false; drain(true); }
      });
    return state.draining;
  }

  function schedule() {
    clearTimeout(state.retry);
    store.count("answers").then(function (waiting) {
      if (waiting) state.retry = setTimeout(contact, RETRY_MS);
    }).catch(function () {});
  }

  function refreshOffline(force) {
    if (!pupil || !navigator.serviceWorker || !navigator.serviceWorker.controller) return;
    var kept = state.offline;
    if (force !== true && kept && kept.pupil === pupil && Date.now() - kept.updated < REFRESH_EVERY_MS) return;
    navigator.serviceWorker.controller.postMessage({ type: "refresh", pupil: pupil });
  }

  function contact() {
    return hello().then(function (data) {
      if (data.pupil && data.pupil.ref === pupil) refreshOffline();
      return drain(false);
    }, function () { touched(false); schedule(); });
  }

  // ---------------------------------------------------------------- answering
  function verdict(form, correct, message, showHint, saved) {
    form.classList.remove("right", "wrong", "waiting");
    var feedback = form.querySelector(".feedback");
    var note = form.querySelector(".saved-note");
    if (correct === null) {
      form.classList.add("waiting");
      feedback.textContent = text.saved_unchecked;
    } else {
      form.classList.add(correct ? "right" : "wrong");
      feedback.textContent = message || (correct ? text.correct : text.wrong);
    }
    if (note) note.hidden = !(saved && correct !== null);
    var hint = form.querySelector(".hint");
    if (hint) hint.hidden = correct !== false || !showHint;
  }

  function keysFor(lessonId) {
    if (state.keys[lessonId]) return Promise.resolve(state.keys[lessonId]);
    return timed("/tablet/lesson/" + encodeURIComponent(lessonId) + "/keys.json", { headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
      .then(function (data) { return (state.keys[lessonId] = data.exercises || {}); })
      .catch(function () { return {}; });
  }

  function answer(form, lessonId, exerciseId, response) {
    var item = { attempt_id: uuid4(), pupil: pupil, lesson_id: lessonId, exercise_id: exerciseId,
                 response: String(response), answered_at: Date.now(), clock_offset_ms: state.offset, tablet: state.tablet };
    form.dataset.attempt = item.attempt_id;
    var saved = store.put("answers", item).then(function () { return true; }, function () { return false; });
    return saved.then(function (kept) {
      show();
      return timed(form.action, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(), Accept: "application/json" },
        body: JSON.stringify(item)
      }).then(function (r) {
        if (!r.ok) throw new Error(String(r.status));  // kept in the queue: the next contact sends it
        return r.json().then(function (result) {
          touched(true);
          if (form.dataset.attempt === item.attempt_id) {
            verdict(form, result.correct, result.feedback, !!result.hint, false);
          }
          return store.del("answers", item.attempt_id);
        });
      }).catch(function () {
        touched(false);
        return keysFor(lessonId).then(function (keys) {
          var correct = gradeHere(keys[exerciseId], item.response);
          if (form.dataset.attempt === item.attempt_id) verdict(form, correct, null, true, kept);
          if (!kept) form.querySelector(".feedback").textContent = text.not_saved;
          schedule();
        });
      }).finally(show);
    });
  }
  window.boxTablet = { answer: answer, drain: drain, contact: contact };

  // Chapter views go through the queue too, so that one watched at home is counted once, the next morning.
  window.boxTablet.watched = function (lessonId, chapter) {
    var view = Object.assign({ view_id: uuid4(), pupil: pupil, lesson_id: lessonId, watched_at: Date.now(),
                               clock_offset_ms: state.offset }, chapter);
    return store.put("views", view).then(function () { return drain(false); }).catch(function () {});
  };

  // Answers of this lesson still waiting: shown as given (with this tablet's own verdict), until the box's arrives.
  function showWaiting() {
    var lessonId = lessonOnPage();
    if (!lessonId) return;
    Promise.all([store.all("answers"), keysFor(lessonId)]).then(function (found) {
      found[0].filter(function (a) { return a.lesson_id === lessonId && a.pupil === pupil; })
        .sort(function (a, b) { return a.answered_at - b.answered_at; })
        .forEach(function (a) {
          var form = document.getElementById("ex-" + a.exercise_id);
          if (!form) return;
          form.dataset.attempt = a.attempt_id;
          verdict(form, gradeHere(found[1][a.exercise_id], a.response), null, true, true);
        });
    }).catch(function () {});
  }

  // The offline page (served by the service worker for a page it does not keep): the lessons this tablet keeps.
  function listKept() {
    var list = document.getElementById("offline-lessons");
    if (!list || !state.offline) return;
    var words = JSON.parse(list.dataset.i18n || "{}");
    list.textContent = "";
    state.offline.lessons.forEach(function (lesson) {
      var item = document.createElement("li"), link = document.createElement("a");
      link.href = "/lesson/" + encodeURIComponent(lesson.id);
      link.className = "tile lesson";
      link.textContent = lesson.title;
      item.appendChild(link);
      if (lesson.take_home_until) {
        var until = document.createElement("small");
        until.textContent = words.until.replace("{date}", new Date(lesson.take_home_until).toLocaleDateString(lang));
        item.appendChild(until);
      }
      list.appendChild(item);
    });
    var none = document.getElementById("offline-none");
    if (none) none.hidden = state.offline.lessons.length > 0;
  }

  // ---------------------------------------------------------------- start
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {});
    navigator.serviceWorker.addEventListener("message", function (e) {
      if (!e.data || e.data.type !== "offline") return;
      var before = JSON.stringify(report());
      state.offline = e.data.offline;
      show();
      listKept();
      if (JSON.stringify(report()) !== before) drain(true);  // the teacher sees what this tablet keeps, at once
    });
    navigator.serviceWorker.addEventListener("controllerchange", function () { refreshOffline(true); });
  }
  if (pupil && navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(function () {});
  window.addEventListener("online", contact);
  window.addEventListener("offline", function () { touched(false); });
  document.addEventListener("visibilitychange", function () { if (!document.hidden) contact(); });
  Promise.all([store.meta("clock_offset_ms"), store.meta("last_contact"), offlineState(),
               store.meta("reported")]).then(function (found) {
    state.offset = found[0] || 0;
    state.lastContact = found[1] || null;
    state.reported = found[3] ? found[3].at : 0;
    state.reportedState = found[3] ? found[3].state : null;
    show();
    showWaiting();
    listKept();
    contact();
  }).catch(function () { bar.hidden = true; });
})();
