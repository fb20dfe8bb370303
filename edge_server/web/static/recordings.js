// Poll the recordings' processing status and update the progress bars while any job is queued or running.
(function () {
  "use strict";
  var table = document.getElementById("recordings");
  if (!table) { return; }
  var url = table.getAttribute("data-status-url");
  function busy(item) { return item.status === "queued" || item.status === "running"; }
  function update(items) {
    items.forEach(function (item) {
      var row = table.querySelector('tr[data-lesson="' + item.lesson_id + '"]');
      if (!row) { return; }
      row.querySelector(".status").textContent = item.status + (item.error ? ": " + item.error : "");
      var bar = row.querySelector("progress");
      bar.value = item.progress;
      bar.textContent = Math.round(item.progress * 100) + "%";
      row.querySelector(".message").textContent = item.message || "";
    });
    return items.some(busy);
  }
  function poll() {
    fetch(url, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : {recordings: []}; })
      .then(function (doc) { if (update(doc.recordings)) { setTimeout(poll, 2000); } })
      .catch(function () { setTimeout(poll, 10000); });
  }
  poll();
})();
