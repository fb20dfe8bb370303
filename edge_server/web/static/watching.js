// The lesson player's progress beacon (views/watching.py), pupils only: how far the pupil has played, the seconds
// spent playing, and each jump back to a part already played (a replay: where the explanation may have lost them).
// A beat goes every 15 s of playing, on pause and when the page goes; what a failed beat carried goes with the next.
(function () {
  "use strict";
  var player = document.getElementById("player");
  var media = document.getElementById("media");
  if (!player || !media || !player.dataset.progress) { return; }
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content;
  var url = player.dataset.progress;
  var before = parseFloat(player.dataset.furthest) || 0;  // played on earlier visits: from 0 to here
  var furthest = before, reported = before;
  var parts = [], part = null, last = null;  // what this visit played, as [start, end] parts
  var played = 0, since = null, replays = [], lastReplayAt = 0, lastBeat = 0, sending = false;
  var BEAT_MS = 15000, MIN_GAP_MS = 2000;

  function now() { return Date.now(); }
  function wasPlayed(t) {
    if (t < before - 1) { return true; }
    return parts.concat(part ? [part] : []).some(function (p) { return t >= p[0] - 0.5 && t < p[1] - 1; });
  }
  function clock() {  // wall-clock seconds of playing since the last count
    if (since !== null) { played += (now() - since) / 1000; since = media.paused ? null : now(); }
  }

  media.addEventListener("playing", function () { since = now(); });
  media.addEventListener("pause", function () { clock(); since = null; beat(false); });
  media.addEventListener("ended", function () { clock(); since = null; beat(false); });
  media.addEventListener("waiting", function () { clock(); since = null; });
  media.addEventListener("timeupdate", function () {
    var t = media.currentTime;
    if (media.paused || media.seeking) { return; }
    if (last !== null && t >= last && t - last < 2) {  // continuous playing, not a jump
      if (!part) { part = [last, t]; }
      part[1] = t;
      furthest = Math.max(furthest, t);
    }
    last = t;
  });
  media.addEventListener("seeking", function () {
    if (part) { parts.push(part); part = null; }
    last = null;
  });
  media.addEventListener("seeked", function () {
    var t = media.currentTime;
    last = t;
    if (!wasPlayed(t)) { return; }
    if (replays.length && now() - lastReplayAt < 1500) { replays[replays.length - 1] = t; }  // one drag, one replay
    else { replays.push(t); }
    lastReplayAt = now();
  });

  function beat(final) {
    clock();
    if (sending && !final) { return; }
    if (!final && now() - lastBeat < MIN_GAP_MS) { return; }
    if (played < 0.5 && !replays.length && furthest <= reported) { return; }
    var sentPlayed = played, sentReplays = replays.slice(0, 20), sentFurthest = furthest;
    var body = JSON.stringify({
      position: media.currentTime || 0, furthest: furthest, played: Math.round(sentPlayed * 10) / 10,
      duration: isFinite(media.duration) ? media.duration : null, replays: sentReplays
    });
    var done = function () {
      played -= sentPlayed;
      replays = replays.slice(sentReplays.length);
      reported = Math.max(reported, sentFurthest);
    };
    lastBeat = now();
    sending = true;
    var request = fetch(url, {
      method: "POST", credentials: "same-origin", keepalive: !!final,
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" }, body: body
    });
    if (final) { done(); }  // the page is going: there is no next beat to carry it
    request.then(function (r) { if (r.ok && !final) { done(); } })
      .catch(function () {})
      .then(function () { sending = false; });
  }

  setInterval(function () { if (!media.paused) { beat(false); } }, BEAT_MS);
  document.addEventListener("visibilitychange", function () { if (document.hidden) { beat(true); } });
  window.addEventListener("pagehide", function () { beat(true); });
  window.boxWatching = { beat: beat };  // for tests and the presenter: send what is pending now
})();
