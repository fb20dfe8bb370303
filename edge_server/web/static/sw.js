// The box's service worker (served at /sw.js, scope /): keeps what a pupil's tablet needs when the box is out of
// reach, as the box's offline plan (/tablet/plan, edge_server/tablets.py) lists it:
//   box-shell-<v>  the app: styles, scripts, manifest, icon, the offline page
//   box-lessons    the lessons list and each kept lesson's page, document, answer keys, captions and chapters
//   box-media      lesson media within the class's budget, answered by byte ranges so players seek offline
// Pages are network first (falling back to the copy here after NETWORK_WAIT_MS, or at once when offline);
// media kept here is answered from here. A storage quota error is recorded and shown on the pupil's pages.
"use strict";
importScripts("/static/tablet-store.js");

var VERSION = "1";
var SHELL = "box-shell-v" + VERSION;
var LESSONS = "box-lessons";
var MEDIA = "box-media";
var OFFLINE_PAGE = "/tablet/offline";
var SHELL_URLS = ["/static/box.css", "/static/box.js", "/static/tablet.js", "/static/tablet-store.js",
                  "/static/companion.js", "/manifest.webmanifest", "/static/icon.svg", OFFLINE_PAGE]
  .concat(["boat", "cat", "fish", "flower", "moon", "star", "sun", "tree"].map(function (name) {
    return "/static/avatars/" + name + ".svg";
  }));
var NETWORK_WAIT_MS = 4000;
var store = self.boxStore;
var refreshing = null;

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL).then(function (cache) {
    return cache.addAll(SHELL_URLS);
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n.indexOf("box-shell-") === 0 && n !== SHELL; })
      .map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

// ---------------------------------------------------------------- answering requests

function isLessonPage(path) { return /^\/lesson\/[^/]+$/.test(path); }

function keptKey(url) {  // one copy per page, whatever its query (?t=42, ?lang=fr)
  return isLessonPage(url.pathname) || url.pathname === "/lessons" ? url.origin + url.pathname : url.href;
}

function fromCaches(request, url) {
  return caches.match(keptKey(url), { ignoreVary: true }).then(function (found) {
    return found || caches.match(request, { ignoreVary: true });
  });
}

// The network's answer, or (when it fails, or is slower than NETWORK_WAIT_MS and a copy is kept) the kept copy.
// A good network answer to a kept URL refreshes the copy.
function networkFirst(request, url, fallback) {
  return fromCaches(request, url).then(function (kept) {
    var fromNetwork = fetch(request).then(function (response) {
      if (kept && response.ok && !response.redirected && response.type === "basic") {
        var copy = response.clone();
        caches.open(url.pathname.indexOf("/static/") === 0 ? SHELL : LESSONS).then(function (cache) {
          return cache.put(keptKey(url), copy);
        }).catch(function () {});
      }
      return response;
    });
    if (!kept) {
      return fromNetwork.catch(function () { return fallback ? fallback() : Response.error(); });
    }
    var late = new Promise(function (resolve) { setTimeout(function () { resolve(kept); }, NETWORK_WAIT_MS); });
    return Promise.race([fromNetwork.catch(function () { return kept; }), late]);
  });
}

function offlinePage() {
  return caches.match(OFFLINE_PAGE).then(function (page) { return page || Response.error(); });
}

// A byte range of a kept medium: 206 with Content-Range, as the box answers it (a player seeks with these).
function ranged(request, kept) {
  var header = request.headers.get("range");
  if (!header) return kept;
  return kept.blob().then(function (blob) {
    var size = blob.size, type = kept.headers.get("content-type") || "application/octet-stream";
    var m = /^bytes=(\d*)-(\d*)$/.exec(header.replace(/\s+/g, ""));
    if (!m || (m[1] === "" && m[2] === "")) {
      return new Response(blob, { status: 200, headers: { "Content-Type": type, "Content-Length": String(size),
                                                          "Accept-Ranges": "bytes" } });
    }
    var start, end;
    if (m[1] === "") {
      start = Math.max(0, size - parseInt(m[2], 10));
      end = size - 1;
    } else {
      start = parseInt(m[1], 10);
      end = m[2] === "" ? size - 1 : Math.min(parseInt(m[2], 10), size - 1);
    }
    if (start >= size || start > end) {
      return new Response(null, { status: 416, headers: { "Content-Range": "bytes */" + size } });
    }
    return new Response(blob.slice(start, end + 1), { status: 206, headers: {
      "Content-Type": type, "Content-Length": String(end - start + 1), "Accept-Ranges": "bytes",
      "Content-Range": "bytes " + start + "-" + end + "/" + size } });
  });
}

function media(request, url) {
  return caches.open(MEDIA).then(function (cache) { return cache.match(url.origin + url.pathname); })
    .then(function (kept) { return kept ? ranged(request, kept) : fetch(request); });
}

function isKeptDocument(path) {
  return path.indexOf("/static/") === 0 || path === "/manifest.webmanifest" || /^\/api\/v1\/lessons\//.test(path) ||
    /^\/tablet\/lesson\//.test(path);
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.indexOf("/media/") === 0) {
    event.respondWith(media(request, url));
  } else if (request.mode === "navigate") {
    event.respondWith(networkFirst(request, url, offlinePage));
  } else if (isKeptDocument(url.pathname)) {
    event.respondWith(networkFirst(request, url, null));
  }
});

// ---------------------------------------------------------------- keeping what the plan lists

function keep(cache, url, problems) {
  return fetch(url, { credentials: "same-origin", cache: "no-cache" }).then(function (response) {
    if (!response.ok || response.redirected) { problems.push(url + ": " + response.status); return false; }
    return cache.put(url, response).then(function () { return true; });
  }).catch(function (error) {
    if (error && error.name === "QuotaExceededError") throw error;
    problems.push(url + ": " + error);
    return false;
  });
}

function usage() {
  if (!self.navigator.storage || !self.navigator.storage.estimate) return Promise.resolve({});
  return self.navigator.storage.estimate().catch(function () { return {}; });
}

function tell(offline) {
  return self.clients.matchAll({ includeUncontrolled: true }).then(function (clients) {
    clients.forEach(function (client) { client.postMessage({ type: "offline", offline: offline }); });
  });
}

// Keep what the plan lists and drop the rest. Pages and documents already kept are fetched again only when the plan
// changed (another pupil, lessons added or removed); visiting a page online refreshes its copy anyway.
function applyPlan(plan, changed) {
  var problems = [], error = null;
  var wanted = { "/lessons": true };
  var keptMedia = {};
  plan.lessons.forEach(function (lesson) {
    lesson.urls.forEach(function (u) { wanted[u] = true; });
    if (lesson.media && lesson.media.keep) keptMedia[lesson.media.url] = lesson.media.size;
  });
  var origin = self.location.origin;
  return caches.open(SHELL).then(function (shell) {
    return Promise.all(SHELL_URLS.map(function (u) {
      return shell.match(u).then(function (found) { return found || keep(shell, u, problems); });
    }));
  }).then(function () { return caches.open(LESSONS); }).then(function (lessons) {
    // drop what the plan no longer lists, then (re)fetch every listed page and document
    return lessons.keys().then(function (requests) {
      return Promise.all(requests.filter(function (r) { return !wanted[new URL(r.url).pathname]; })
        .map(function (r) { return lessons.delete(r); }));
    }).then(function () {
      return Object.keys(wanted).reduce(function (chain, u) {
        return chain.then(function () {
          return (changed ? Promise.resolve(null) : lessons.match(origin + u)).then(function (found) {
            return found || keep(lessons, origin + u, problems);
          });
        });
      }, Promise.resolve());
    });
  }).then(function () { return caches.open(MEDIA); }).then(function (mediaCache) {
    return mediaCache.keys().then(function (requests) {
      return Promise.all(requests.filter(function (r) { return !(new URL(r.url).pathname in keptMedia); })
        .map(function (r) { return mediaCache.delete(r); }));
    }).then(function () {
      var budget = plan.media_budget_bytes, used = 0;
      return Object.keys(keptMedia).reduce(function (chain, u) {
        return chain.then(function () {
          return mediaCache.match(origin + u).then(function (found) {
            if (found) { used += keptMedia[u]; return; }
            if (used + keptMedia[u] > budget) return;
            return keep(mediaCache, origin + u, problems).then(function (ok) { if (ok) used += keptMedia[u]; });
          });
        });
      }, Promise.resolve());
    });
  }).catch(function (e) {
    error = e && e.name === "QuotaExceededError" ? "quota" : String(e);
  }).then(function () {
    return caches.open(MEDIA).then(function (mediaCache) { return mediaCache.keys(); });
  }).then(function (mediaKept) {
    var have = {};
    mediaKept.forEach(function (r) { have[new URL(r.url).pathname] = true; });
    return usage().then(function (estimate) {
      return {
        pupil: plan.pupil, updated: Date.now(), error: error, problems: problems.slice(0, 20),
        usage: estimate.usage || null, quota: estimate.quota || null,
        lessons: plan.lessons.map(function (l) {
          return { id: l.id, title: l.title, take_home_until: l.take_home_until, has_media: !!l.media,
                   media: !!(l.media && have[l.media.url]) };
        })
      };
    });
  });
}

function refresh() {
  if (refreshing) return refreshing;
  refreshing = fetch("/tablet/plan", { credentials: "same-origin", cache: "no-store",
                                       headers: { Accept: "application/json" } })
    .then(function (response) {
      if (!response.ok || response.redirected) return null;
      return Promise.all([response.text(), store.meta("plan")]).then(function (found) {
        var plan = JSON.parse(found[0]);
        return applyPlan(plan, found[0] !== found[1]).then(function (offline) {
          return Promise.all([store.setMeta("offline", offline), store.setMeta("plan", found[0])])
            .then(function () { return tell(offline); });
        });
      });
    })
    .catch(function () { return null; })
    .finally(function () { refreshing = null; });
  return refreshing;
}

self.addEventListener("message", function (event) {
  if (event.data && event.data.type === "refresh") event.waitUntil(refresh());
});
