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

  // Picture password: each tap adds a picture (shown in a row above the grid); the third sends the form.
  var pictureForm = document.querySelector(".picture-form");
  if (pictureForm) {
    var chosen = [], field = pictureForm.querySelector(".pictures-input");
    var row = pictureForm.querySelector(".picture-chosen");
    pictureForm.querySelector(".picture-grid").hidden = false;
    pictureForm.querySelector(".picture-keys").hidden = false;
    field.disabled = false;
    pictureForm.addEventListener("click", function (e) {
      var button = e.target.closest("[data-picture]");
      if (!button) return;
      var name = button.dataset.picture;
      if (name === "del") chosen.pop();
      else if (chosen.length < 3) chosen.push({ name: name, src: button.querySelector("img").src });
      row.textContent = "";
      chosen.forEach(function (c) {
        var img = document.createElement("img");
        img.src = c.src;
        img.alt = "";
        row.appendChild(img);
      });
      field.value = chosen.map(function (c) { return c.name; }).join("-");
      if (chosen.length === 3 && name !== "del") pictureForm.requestSubmit();
    });
  }

  var player = document.getElementById("player");
  var media = document.getElementById("media");
  var links = Array.prototype.slice.call(document.querySelectorAll("#chapters a.chapter"));
  var chapters = links.map(function (a) {
    return { start: parseFloat(a.dataset.start), end: parseFloat(a.dataset.end), knowledge_point: a.dataset.kp || null };
  });
  var text = player ? JSON.parse(player.dataset.i18n) : {};

  function seek(seconds, play) {
    if (!media) return;
    media.currentTime = seconds;
    if (play) media.play().catch(function () {});
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
    if (player.dataset.watched && !media.paused && lastChapter >= 0 && i === lastChapter + 1) {
      var c = chapters[lastChapter];
      if (window.boxTablet) {  // through the tablet's queue (tablet.js): counted once, even when sent later
        window.boxTablet.watched(player.dataset.lesson, { knowledge_point: c.knowledge_point, start: c.start,
                                                          end: chapters[i].start });
      } else fetch(player.dataset.watched, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify({ knowledge_point: c.knowledge_point, start: c.start, end: chapters[i].start })
      }).catch(function () {});
    }
    lastChapter = i;
    links.forEach(function (a, n) { a.setAttribute("aria-current", String(n === i)); });
    var now = document.getElementById("now-chapter");
    if (now) now.textContent = i >= 0 ? links[i].dataset.title : "";
  }

  if (player && media) {
    var start = parseFloat(player.dataset.start) || 0;
    if (start > 0) {
      if (media.readyState >= 1) seek(start);
      else media.addEventListener("loadedmetadata", function () { seek(start); }, { once: true });
    }
    media.addEventListener("timeupdate", markChapter);
    links.forEach(function (a, n) {
      a.addEventListener("click", function (e) { e.preventDefault(); seek(chapters[n].start, true); });
    });
    var toggle = document.getElementById("captions-toggle");
    var line = document.getElementById("caption-line");
    if (toggle) {
      // <audio> draws no captions, so the current cue is written under the player instead.
      var audio = media.tagName === "AUDIO";
      var showCue = function () {
        var cues = this.activeCues || [];
        line.textContent = cues.length ? cues[cues.length - 1].text : "";
      };
      toggle.addEventListener("click", function () {
        var on = toggle.getAttribute("aria-pressed") !== "true";
        Array.prototype.forEach.call(media.textTracks, function (t) {
          if (t.kind !== "captions" && t.kind !== "subtitles") return;
          t.mode = on ? (audio ? "hidden" : "showing") : "disabled";
          if (audio) t.oncuechange = on ? showCue : null;
        });
        if (line) line.hidden = !(on && audio);
        toggle.setAttribute("aria-pressed", String(on));
        toggle.textContent = on ? text.captions_on : text.captions_off;
      });
    }
  }

  // Exercises: answer in place, show feedback at once.
  document.querySelectorAll("form.exercise").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var response = e.submitter && e.submitter.name === "response" ? e.submitter.value
        : (form.querySelector('input[name="response"]') || {}).value;
      if (response == null || String(response).trim() === "") return;
      if (window.boxTablet && player) {  // kept on the tablet until the box has it (tablet.js)
        window.boxTablet.answer(form, player.dataset.lesson, form.elements.exercise_id.value, String(response));
        return;
      }
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
