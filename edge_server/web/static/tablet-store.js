// The tablet's own storage (IndexedDB), shared by the pages (tablet.js) and the service worker (sw.js):
//   answers  answers not yet acknowledged by the box, by attempt_id
//   views    chapter views not yet acknowledged, by view_id
//   meta     small facts: this tablet's id, its clock offset, last contact, sync tokens, what it keeps offline
(function (scope) {
  "use strict";
  var NAME = "classroom-box", VERSION = 1;
  var opening = null;

  function open() {
    if (opening) return opening;
    opening = new Promise(function (resolve, reject) {
      var request = scope.indexedDB.open(NAME, VERSION);
      request.onupgradeneeded = function () {
        var db = request.result;
        if (!db.objectStoreNames.contains("answers")) db.createObjectStore("answers", { keyPath: "attempt_id" });
        if (!db.objectStoreNames.contains("views")) db.createObjectStore("views", { keyPath: "view_id" });
        if (!db.objectStoreNames.contains("meta")) db.createObjectStore("meta", { keyPath: "key" });
      };
      request.onsuccess = function () {
        var db = request.result;
        db.onversionchange = function () { db.close(); opening = null; };
        resolve(db);
      };
      request.onerror = function () { opening = null; reject(request.error); };
    });
    return opening;
  }

  // One request in its own transaction; resolves once the transaction is durable (oncomplete), so that an answer
  // reported "saved" survives the tablet being switched off.
  function run(storeName, mode, make) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(storeName, mode, { durability: "strict" });
        var request = make(tx.objectStore(storeName));
        var result;
        request.onsuccess = function () { result = request.result; };
        tx.oncomplete = function () { resolve(result); };
        tx.onabort = tx.onerror = function () { reject(tx.error || request.error); };
      });
    });
  }

  scope.boxStore = {
    put: function (store, value) { return run(store, "readwrite", function (s) { return s.put(value); }); },
    get: function (store, key) { return run(store, "readonly", function (s) { return s.get(key); }); },
    del: function (store, key) { return run(store, "readwrite", function (s) { return s.delete(key); }); },
    all: function (store) { return run(store, "readonly", function (s) { return s.getAll(); }); },
    count: function (store) { return run(store, "readonly", function (s) { return s.count(); }); },
    meta: function (key) {
      return run("meta", "readonly", function (s) { return s.get(key); }).then(function (row) {
        return row ? row.value : undefined;
      });
    },
    setMeta: function (key, value) {
      return run("meta", "readwrite", function (s) { return s.put({ key: key, value: value }); });
    }
  };
})(self);
