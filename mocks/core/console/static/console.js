// examrig console: everything through the admin API; data is inserted as text only (never as markup).
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var next = 0;
  var entries = {};

  function tenant() { return $("tenant").value.trim() || "default"; }

  function api(method, path, body) {
    var init = { method: method, headers: { "X-Examrig-Tenant": tenant(), "Accept": "application/json" },
                 cache: "no-store", credentials: "same-origin" };
    if (body !== undefined) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
    return fetch("/_examrig" + path, init).then(function (r) {
      var kind = r.headers.get("Content-Type") || "";
      return (kind.indexOf("json") >= 0 ? r.json() : r.text()).then(function (data) {
        if (!r.ok) { throw new Error((data && data.error && data.error.message) || ("HTTP " + r.status)); }
        return data;
      });
    });
  }

  function cell(row, value) { var td = document.createElement("td"); td.textContent = value; row.appendChild(td); return td; }

  function health() {
    api("GET", "/health").then(function (h) {
      $("health").textContent = h.status + " · journal " + JSON.stringify(h.journal);
    }).catch(function (e) { $("health").textContent = "unavailable: " + e.message; });
    api("GET", "/metrics").then(function (m) { $("metrics").textContent = m; }).catch(function () {});
  }

  function clock() {
    api("GET", "/clock").then(function (c) { $("clock").textContent = JSON.stringify(c); }).catch(function () {});
  }

  function clockPost(body) { return api("POST", "/clock", body).then(clock); }
  $("clock-freeze").addEventListener("submit", function (ev) { ev.preventDefault(); clockPost({ freeze: true }); });
  $("clock-unfreeze").addEventListener("submit", function (ev) { ev.preventDefault(); clockPost({ unfreeze: true }); });
  $("clock-set").addEventListener("submit", function (ev) { ev.preventDefault(); clockPost({ set: $("clock-at").value }); });
  $("clock-advance").addEventListener("submit", function (ev) {
    ev.preventDefault(); clockPost({ advance: Number($("clock-seconds").value) });
  });

  function faults() {
    api("GET", "/faults").then(function (data) {
      var body = $("faults").querySelector("tbody");
      body.textContent = "";
      data.faults.forEach(function (f) {
        var row = document.createElement("tr");
        row.setAttribute("data-fault", f.id);
        cell(row, f.id); cell(row, f.kind);
        cell(row, [f.method, f.path, f.route].filter(Boolean).join(" ") || "every request");
        cell(row, f.status ? String(f.status) : f.ms ? f.ms + " ms" : "");
        cell(row, String(f.applied === undefined ? "" : f.applied));
        var button = document.createElement("button");
        button.type = "button"; button.textContent = "Delete";
        button.setAttribute("aria-label", "Delete fault rule " + f.id);
        button.addEventListener("click", function () { api("DELETE", "/faults/" + encodeURIComponent(f.id)).then(faults); });
        cell(row, "").appendChild(button);
        body.appendChild(row);
      });
    }).catch(function () {});
  }

  $("fault-add").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var spec = { kind: $("fault-kind").value };
    ["method", "path"].forEach(function (k) { var v = $("fault-" + k).value.trim(); if (v) { spec[k] = v; } });
    ["status", "ms", "times"].forEach(function (k) { var v = $("fault-" + k).value.trim(); if (v) { spec[k] = Number(v); } });
    $("fault-error").hidden = true;
    api("POST", "/faults", spec).then(faults).catch(function (e) {
      $("fault-error").textContent = e.message; $("fault-error").hidden = false;
    });
  });

  function quote(s) { return "'" + String(s).replace(/'/g, "'\\''") + "'"; }

  function curl(e) {
    var parts = ["curl", "-X", e.method, quote(e.url)];
    Object.keys(e.request_headers || {}).forEach(function (k) {
      if (k.toLowerCase() !== "content-length" && k.toLowerCase() !== "host") { parts.push("-H", quote(k + ": " + e.request_headers[k])); }
    });
    if (e.request_body) { parts.push("--data-binary", quote(e.request_body)); }
    return parts.join(" ");
  }

  function headers(h) { return Object.keys(h || {}).map(function (k) { return k + ": " + h[k]; }).join("\n"); }

  function open(e) {
    $("exchange").hidden = false;
    $("exchange-seq").textContent = "#" + e.seq;
    $("exchange-request").textContent = e.method + " " + e.url + "\n" + headers(e.request_headers) + "\n\n" + (e.request_body || "");
    $("exchange-response").textContent = String(e.status) + "\n" + headers(e.response_headers) + "\n\n" + (e.response_body || "");
    $("curl").value = curl(e);
  }

  $("copy-curl").addEventListener("click", function () {
    $("curl").select();
    if (navigator.clipboard) { navigator.clipboard.writeText($("curl").value).catch(function () {}); }
  });

  function filters() {
    var q = ["tenant=" + encodeURIComponent(tenant())];
    Array.prototype.forEach.call($("journal-filters").querySelectorAll("input"), function (i) {
      if (i.value.trim()) { q.push(encodeURIComponent(i.name) + "=" + encodeURIComponent(i.value.trim())); }
    });
    return q.join("&");
  }

  $("journal-filters").addEventListener("submit", function (ev) {
    ev.preventDefault(); next = 0; entries = {}; $("journal").querySelector("tbody").textContent = ""; journal();
  });

  function journal() {
    return api("GET", "/journal?" + filters() + (next ? "&since=" + next : "")).then(function (data) {
      var body = $("journal").querySelector("tbody");
      data.entries.forEach(function (e) {
        if (entries[e.seq]) { return; }
        entries[e.seq] = e;
        var row = document.createElement("tr");
        row.setAttribute("data-seq", String(e.seq));
        var first = cell(row, "");
        var button = document.createElement("button");
        button.type = "button"; button.textContent = String(e.seq);
        button.setAttribute("aria-label", "Open exchange " + e.seq + ": " + e.method + " " + e.path);
        button.addEventListener("click", function () { open(e); });
        first.appendChild(button);
        cell(row, e.ts); cell(row, e.direction); cell(row, e.method); cell(row, e.path);
        cell(row, e.status === null ? "" : String(e.status)); cell(row, e.fault ? e.fault.kind || "fault" : "");
        body.insertBefore(row, body.firstChild);
      });
      next = data.next_seq;
    }).catch(function () {});
  }

  function tick() {
    Promise.all([journal(), faults(), clock()]).then(function () { window.setTimeout(tick, 1000); },
                                                     function () { window.setTimeout(tick, 1000); });
  }
  health();
  window.setInterval(health, 5000);
  tick();
}());
