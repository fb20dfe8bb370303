// The recording editors (templates/recordings/edit_*.html): ▶ plays from a row's start, "Now" writes the player's time
// into a field. The forms work without it.
(function () {
  "use strict";
  var media = document.getElementById("edit-media");
  if (!media) { return; }
  function parse(text) {  // 75.5, 1:15.5, 1:02:03 (a decimal comma too), as output_edits.parse_time reads them
    var parts = String(text || "").trim().replace(",", ".").split(":"), seconds = 0;
    for (var i = 0; i < parts.length; i++) {
      var n = parseFloat(parts[i]);
      if (isNaN(n)) { return null; }
      seconds = seconds * 60 + n;
    }
    return seconds;
  }
  function format(t) {
    t = Math.max(0, Math.round(t * 10) / 10);
    var m = Math.floor(t / 60), s = (t - m * 60).toFixed(1);
    return m + ":" + (s.length < 4 ? "0" : "") + s.replace(/\.0$/, "");
  }
  function field(name) { return document.querySelector('[name="' + name + '"]'); }
  document.addEventListener("click", function (e) {
    var now = e.target.closest(".now");
    if (now) {
      var target = field(now.dataset.target);
      target.value = format(media.currentTime);
      target.focus();
      return;
    }
    var seek = e.target.closest(".seek");
    if (seek) {
      var t = parse((field(seek.dataset.from) || {}).value);
      if (t !== null) {
        media.currentTime = t;
        media.play().catch(function () {});
      }
    }
  });
})();
