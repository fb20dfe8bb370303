// The little JavaScript the pages need: PIN keypad, lesson player (chapters, captions, ?t=), exercises, presenter keys.
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content;

  // PIN keypad: fills the one PIN field; the form still works without JavaScript.
  var pinForm = document.querySelector(".pin-form");
  if (pinForm) {
    var pinInput = pinForm.querySelector(".pin-input");
    var pad = pinForm.querySelector(".keypad");
    pad.hidden = false;
    pinInput.setAttribute("inputmode", "none");
    pad.addEventListener("click", function (e) {
      var key = e.target.closest("[data-key]");
      if (!key) return;
      var k = key.dataset.key;
      pinInput.value = k === "del" ? pinInput.value.slice(0, -1) : (pinInput.value + k).slice(0, 4);
      if (pinInput.value.length === 4 && k !== "del") pinForm.requestSubmit();
    });
  }

  var player = document.getElementById("player");
  var media = document.getElementById("media");
  var chapterList = document.getElementById("chapters");
  var chapters = [];
  var text = player ? JSON.parse(player.dataset.i18n) : {};

  function fmt(s) {
    s = Math.floor(s);
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }

  function seek(seconds, play) {
    if (!media) return;
    media.currentTime = seconds;
    if (play) media.play().catch(function () {});
  }

  function addTrack(kind, src, label, lang) {
    var t = document.createElement("track");
    t.kind = kind; t.src = src; t.label = label; if (lang) t.srclang = lang;
    media.appendChild(t);
    return t;
  }

  function showChapters(list, kpNames) {
    chapters = list.filter(function (c) { return typeof c.start === "number"; });
    if (!chapters.length || !chapterList) return;
    chapterList.textContent = "";
    chapters.forEach(function (c, i) {
      var li = document.createElement("li");
      var b = document.createElement("button");
      b.type = "button";
      b.dataset.index = i;
      var time = document.createElement("span");
      time.className = "time"; time.textContent = fmt(c.start);
      b.appendChild(time);
      b.appendChild(document.createTextNode(c.title || kpNames[c.knowledge_point] || ""));
      var kp = kpNames[c.knowledge_point];
      if (kp && kp !== c.title) {
        var small = document.createElement("span");
        small.className = "kp"; small.textContent = kp;
        b.appendChild(small);
      }
      b.addEventListener("click", function () { seek(c.start, true); });
      li.appendChild(b);
      chapterList.appendChild(li);
    });
  }

  function currentChapter() {
    var t = media ? media.currentTime : 0, found = -1;
    chapters.forEach(function (c, i) { if (t + 0.25 >= c.start) found = i; });
    return found;
  }

  var lastChapter = -1;
  function markChapter() {
    var i = currentChapter();
    // A chapter played through to the next one counts as watched (pupils only; teachers have no data-watched).
    if (player.dataset.watched && media && !media.paused && i === lastChapter + 1 && lastChapter >= 0) {
      var c = chapters[lastChapter];
      fetch(player.dataset.watched, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify({ knowledge_point: c.knowledge_point || null, start: c.start, end: c.end || chapters[i].start })
      }).catch(function () {});
    }
    lastChapter = i;
    chapterList && chapterList.querySelectorAll("button").forEach(function (b) {
      b.setAttribute("aria-current", String(Number(b.dataset.index) === i));
    });
  }

  if (player && media) {
    var start = parseFloat(player.dataset.start) || 0;
    if (start > 0) {
      if (media.readyState >= 1) seek(start); else media.addEventListener("loadedmetadata", function () { seek(start); }, { once: true });
    }
    media.addEventListener("timeupdate", markChapter);
    var kpNames = JSON.parse(player.dataset.kpNames || "{}");
    fetch(player.dataset.api, { headers: { Accept: "application/json" } }).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (lesson) {
      if (!lesson) return;
      var list = Array.isArray(lesson.chapters) ? lesson.chapters : [];
      var base = player.dataset.api;
      var captions = lesson.captions_url || (typeof lesson.captions === "string" && lesson.captions.charAt(0) === "/" ? lesson.captions : null) ||
        (lesson.captions || list.length ? base + "/captions.vtt" : null);
      if (captions) {
        var track = addTrack("captions", captions, text.captions_lang, document.documentElement.lang);
        track.track.mode = "hidden";
        var toggle = document.getElementById("captions-toggle");
        toggle.hidden = false;
        toggle.addEventListener("click", function () {
          var on = track.track.mode !== "showing";
          track.track.mode = on ? "showing" : "hidden";
          toggle.setAttribute("aria-pressed", String(on));
          toggle.textContent = on ? text.captions_on : text.captions_off;
        });
      }
      if (list.length) {
        addTrack("chapters", lesson.chapters_url || base + "/chapters.vtt", "Chapters").track.mode = "hidden";
        showChapters(list, kpNames);
        markChapter();
      }
      var summary = lesson.summary && (lesson.summary.text || lesson.summary);
      if (typeof summary === "string" && summary.trim()) {
        document.getElementById("summary").textContent = summary;
        document.getElementById("summary-panel").hidden = false;
      }
    }).catch(function () {});
  }

  // Exercises: answer in place, show feedback at once.
  document.querySelectorAll("form.exercise").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var response = e.submitter && e.submitter.name === "response" ? e.submitter.value
        : (form.querySelector('input[name="response"]') || {}).value;
      if (response == null || String(response).trim() === "") return;
      var feedback = form.querySelector(".feedback");
      fetch(form.action, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
        body: JSON.stringify({ exercise_id: form.elements.exercise_id.value, response: String(response) })
      }).then(function (r) {
        if (!r.ok) throw new Error(r.status);
        return r.json();
      }).then(function (result) {
        form.classList.remove("right", "wrong");
        form.classList.add(result.correct ? "right" : "wrong");
        feedback.textContent = result.feedback || (result.correct ? text.correct : text.wrong);
        var hint = form.querySelector(".hint");
        if (hint) hint.hidden = result.correct;
      }).catch(function () { feedback.textContent = text.offline; });
    });
  });

  // Presenter: arrows / Page Up / Page Down / space move between chapters, F toggles full screen.
  if (document.body.classList.contains("presenter")) {
    document.addEventListener("keydown", function (e) {
      if (e.target.matches("input, textarea")) return;
      var next = ["ArrowRight", "ArrowDown", "PageDown", " "].indexOf(e.key) >= 0;
      var prev = ["ArrowLeft", "ArrowUp", "PageUp"].indexOf(e.key) >= 0;
      if ((next || prev) && chapters.length) {
        e.preventDefault();
        var i = Math.max(0, Math.min(chapters.length - 1, currentChapter() + (next ? 1 : -1)));
        seek(chapters[i].start, true);
        markChapter();
      } else if (e.key === "f" || e.key === "F") {
        e.preventDefault();
        if (document.fullscreenElement) document.exitFullscreen();
        else document.documentElement.requestFullscreen().catch(function () {});
      }
    });
  }
})();
