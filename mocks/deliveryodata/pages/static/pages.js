// examrig pages: keep the page's state current by polling a small same-origin JSON endpoint (no reload).
(function () {
  "use strict";
  var body = document.body;
  var page = body.getAttribute("data-page");
  var poll = body.getAttribute("data-poll");
  var STATUS = { 1: "In progress", 5: "Finished", 6: "Paused", 7: "Terminated" };
  if (!page || !poll) { return; }

  function text(el, value) { if (el && el.textContent !== value) { el.textContent = value; } }

  function clock(seconds) {
    if (seconds === null || seconds === undefined) { return "no time limit"; }
    return Math.floor(seconds / 60) + " min " + (seconds % 60) + " s";
  }

  function lobby(state) {
    if (state.ResultID !== null) { window.location.assign(poll.replace("/LobbyState/", "/Delivery/")); return; }
    var lock = document.getElementById("lock");
    lock.setAttribute("data-locked", state.LockStatus ? "true" : "false");
    text(lock, state.LockStatus ? "Waiting for your proctor to unlock the assessment\u2026"
                                : "Your proctor has unlocked the assessment.");
    var code = document.querySelector(".unlock-code");
    if (code) { code.hidden = !state.LockStatus; }
  }

  function delivery(state) {
    var status = document.getElementById("status");
    status.setAttribute("data-status", String(state.ResultStatus));
    text(status, STATUS[state.ResultStatus] || String(state.ResultStatus));
    text(document.getElementById("extra"), (state.ExtraTime || 0) + " min");
    text(document.getElementById("left"), clock(state.SecondsLeft));
    var notice = document.getElementById("notice");
    text(notice, state.ResultStatus === 6 ? "Your proctor has paused the assessment. Please wait."
                 : state.ResultStatus === 7 ? "Your proctor has ended the assessment."
                 : state.ResultStatus === 5 ? "You have finished the assessment." : "");
    var finish = document.getElementById("finish-form");
    if (finish) { finish.hidden = state.ResultStatus !== 1; }
  }

  // the audit log is redrawn when it grew: rows are built with textContent, so logged data stays text
  function audit(tbody, rows) {
    if (!tbody || tbody.rows.length === rows.length) { return; }
    var fresh = document.createDocumentFragment();
    rows.forEach(function (r) {
      var tr = document.createElement("tr");
      [r.Sequence, r.Timestamp, r.Event, r.Actor, r.Detail || ""].forEach(function (value) {
        var td = document.createElement("td");
        td.textContent = String(value);
        tr.appendChild(td);
      });
      fresh.appendChild(tr);
    });
    tbody.replaceChildren(fresh);
  }

  function proctor(data) {
    (data.Attempts || []).forEach(function (s) {
      var section = document.getElementById("attempt-" + s.AttemptID);
      if (!section) { return; }
      text(section.querySelector(".lock"), s.LockStatus ? "Locked" : "Unlocked");
      text(section.querySelector(".status"), s.ResultStatusName);
      text(section.querySelector(".extra"), (s.ExtraTime || 0) + " min");
      text(section.querySelector(".code"), s.UnlockCode);
      audit(section.querySelector("table.audit tbody"), s.Audit || []);
    });
  }

  var apply = { lobby: lobby, delivery: delivery, proctor: proctor }[page];
  // once a form is submitted the page is on its way elsewhere: a poll that navigates now (the lobby's, when the
  // Start it just posted set ResultID) would abort that navigation, so polling stops
  var leaving = false;
  document.addEventListener("submit", function () { leaving = true; }, true);
  function tick() {
    if (leaving) { return; }
    fetch(poll, { headers: { "Accept": "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data && !leaving) { apply(data); } })
      .catch(function () { /* a missed poll is retried on the next tick */ })
      .then(function () { window.setTimeout(tick, 1000); });
  }
  window.setTimeout(tick, 1000);
}());
