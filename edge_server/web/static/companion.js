// The study helper's chat panel: sends a question, shows the place in the queue, the answer as it streams and
// links that play the lesson from the cited second. No external assets; strings come translated from the page.
(function () {
  "use strict";
  var panel = document.getElementById("companion");
  if (!panel || !window.fetch) return;
  var form = panel.querySelector(".companion-form");
  var input = form.querySelector("input[name=question]");
  var exercise = form.querySelector("select[name=exercise_id]");
  var button = form.querySelector("button");
  var log = panel.querySelector(".companion-log");
  var csrf = (document.querySelector("meta[name=csrf-token]") || {}).content || "";
  var t = panel.dataset;

  function clock(seconds) {
    var s = Math.floor(seconds), m = Math.floor(s / 60);
    return m + ":" + String(s % 60).padStart(2, "0");
  }

  function bubble(kind, who) {
    var li = document.createElement("li");
    li.className = kind;
    var label = document.createElement("span");
    label.className = "who";
    label.textContent = who;
    li.appendChild(label);
    var body = document.createElement("span");
    body.className = "body";
    li.appendChild(body);
    log.appendChild(li);
    log.scrollTop = log.scrollHeight;
    return body;
  }

  function cite(li, citation) {
    var a = document.createElement("a");
    a.className = "cite pill";
    a.href = citation.url;
    a.textContent = "\u25B6 " + t.listen.replace("{time}", clock(citation.start));
    a.addEventListener("click", function (event) {
      var media = document.getElementById("media");
      if (media && citation.lesson === t.lesson) { // same lesson: play from there without leaving the page
        event.preventDefault();
        media.currentTime = citation.start;
        media.play().catch(function () {});
      }
    });
    li.appendChild(document.createElement("br"));
    li.appendChild(a);
  }

  function finish(body, answer) {
    body.textContent = answer.answer;
    body.classList.remove("status");
    if (answer.refused) body.parentNode.classList.add("refused");
    (answer.citations || []).forEach(function (c) { cite(body.parentNode, c); });
  }

  function handle(body, name, data, state) {
    if (name === "queued") {
      body.classList.add("status");
      body.textContent = data.place > 0 ? t.waiting.replace("{n}", data.place) : t.thinking;
    } else if (name === "token") {
      if (!state.streaming) { body.textContent = ""; body.classList.remove("status"); state.streaming = true; }
      body.textContent += data.text;
    } else if (name === "answer") {
      finish(body, data);
      state.done = true;
    } else if (name === "error") {
      // the box's models are restarting: say so in the pupil's language, they can ask again in a moment
      body.textContent = t.error;
      body.classList.remove("status");
      state.done = true;
    }
  }

  function parse(chunk, body, state) {
    state.buffer += chunk;
    var parts = state.buffer.split("\n\n");
    state.buffer = parts.pop();
    parts.forEach(function (part) {
      var name = "message", data = "";
      part.split("\n").forEach(function (line) {
        if (line.indexOf("event: ") === 0) name = line.slice(7);
        else if (line.indexOf("data: ") === 0) data += line.slice(6);
      });
      if (data) handle(body, name, JSON.parse(data), state);
    });
  }

  function ask(question, exerciseId) {
    bubble("q", t.you).textContent = question;
    var body = bubble("a", t.helper);
    body.classList.add("status");
    body.textContent = t.thinking;
    var state = { buffer: "", streaming: false, done: false };
    button.disabled = true;
    var payload = { question: question, lesson_id: t.lesson };
    if (exerciseId) payload.exercise_id = exerciseId;
    return fetch(t.stream, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "text/event-stream", "X-CSRFToken": csrf },
      body: JSON.stringify(payload)
    }).then(function (response) {
      if (!response.ok) {
        return response.json().catch(function () { return {}; }).then(function (err) {
          body.textContent = err.error || t.error;
          body.classList.remove("status");
        });
      }
      var reader = response.body.getReader(), decoder = new TextDecoder();
      function pump() {
        return reader.read().then(function (step) {
          if (step.done) { parse("\n\n", body, state); return; }
          parse(decoder.decode(step.value, { stream: true }), body, state);
          return pump();
        });
      }
      return pump();
    }).catch(function () {
      body.textContent = t.error;
    }).then(function () {
      if (!state.done && body.classList.contains("status")) body.textContent = t.error;
      button.disabled = false;
      log.scrollTop = log.scrollHeight;
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var question = input.value.trim();
    if (!question) return;
    input.value = "";
    ask(question, exercise ? exercise.value : "");
  });
})();
