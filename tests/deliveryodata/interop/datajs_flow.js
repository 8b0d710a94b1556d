// The seed document's flow with Microsoft datajs 1.0.3 (verbose JSON, its own metadataHandler), under Node.
//
// datajs is a browser library: it calls window.XMLHttpRequest (here the npm 'xmlhttprequest' package,
// which takes the user and password of xhr.open as Basic credentials) and, for $metadata and Atom,
// window.DOMParser (here '@xmldom/xmldom'). window.location is the service's origin, so every request
// is same-origin (datajs would otherwise try JSONP). Prints one JSON line per step; exits 1 on the first
// failure. Usage: node datajs_flow.js <service root> <user> <password>
"use strict";
const root = process.argv[2], user = process.argv[3], password = process.argv[4];
const url = new URL(root);
global.window = global;
window.location = { protocol: url.protocol, host: url.host, href: root };
window.XMLHttpRequest = require("xmlhttprequest").XMLHttpRequest;
window.DOMParser = require("@xmldom/xmldom").DOMParser;
const dj = require("datajs");
const OData = dj.OData || window.OData;

function call(request, handler) {
  request.user = user;
  request.password = password;
  return new Promise((resolve, reject) => {
    OData.request(request, (data, response) => resolve({ data, response }),
      (err) => reject(err), handler);
  });
}
function expectError(request, handler) {
  return call(request, handler).then(
    () => { throw new Error("expected an error for " + request.requestUri); },
    (err) => {
      const resp = err.response || {};
      let parsed = null;
      try { parsed = JSON.parse(resp.body); } catch (e) { parsed = null; }
      return { status: resp.statusCode, headers: resp.headers, error: parsed };
    });
}
function report(step, value) { process.stdout.write(JSON.stringify({ step, value }) + "\n"); }

(async () => {
  const md = await call({ requestUri: root + "$metadata" }, OData.metadataHandler);
  const schema = md.data.dataServices.schema[0];
  report("metadata", { namespace: schema.namespace, types: schema.entityType.map((t) => t.name) });
  const participants = await call({ requestUri: root + "Participants?$filter=ID eq 987654321" });
  report("participants", { results: participants.data.results, version: participants.response.headers.DataServiceVersion,
    contentType: participants.response.headers["Content-Type"] });
  const assessments = await call({ requestUri: root + "Assessments" });
  report("assessments", assessments.data.results.map((a) => a.Name));
  const created = await call({ requestUri: root + "Attempts", method: "POST", data: {
    ExternalAttemptID: "datajs-1", ParticipantID: 987654321, AssessmentID: "1234567890876543", LockRequired: true,
    LockStatus: true, ParticipantFacingProctorSystemWidgetUrl: "https://proctor.example/widget",
    AttemptMetadata: { results: [{ Key: "S1", Value: "seat 4" }] } } });
  report("created", { status: created.response.statusCode, location: created.response.headers.Location,
    data: created.data });
  const id = created.data.ID;
  const found = await call({ requestUri: root + "Attempts?$filter=ExternalAttemptID eq 'datajs-1'" });
  report("filtered", found.data.results.map((a) => a.ID));
  let next = root + "Participants?$inlinecount=allpages", ids = [], count = null, pages = 0;
  while (next) {
    const page = await call({ requestUri: next });
    count = count === null ? page.data.__count : count;
    ids = ids.concat(page.data.results.map((p) => p.ID));
    next = page.data.__next || null;
    pages += 1;
  }
  report("paged", { count, ids: ids.length, distinct: new Set(ids).size, pages });
  const merged = await call({ requestUri: root + "Attempts(" + id + ")", method: "MERGE",
    data: { LockStatus: false } });
  report("merged", merged.response.statusCode);
  const patched = await call({ requestUri: root + "Attempts(" + id + ")", method: "PATCH",
    data: { ParticipantSystemCheckUrl: "about:blank" } });
  report("patched", patched.response.statusCode);
  const read = await call({ requestUri: root + "Attempts(" + id + ")?$expand=AttemptMetadata" });
  report("read", { lobby: read.data.ParticipantFacingQMLobbyUrl, lock: read.data.LockStatus,
    check: read.data.ParticipantSystemCheckUrl, modified: read.data.LastModifiedDateTime instanceof Date,
    metadata: read.data.AttemptMetadata.results.map((m) => [m.Key, m.Value]) });
  report("duplicate", await expectError({ requestUri: root + "Attempts", method: "POST", data: {
    ExternalAttemptID: "datajs-1", ParticipantID: 987654321, AssessmentID: "1234567890876543" } }));
  report("badfilter", await expectError({ requestUri: root + "Attempts?$filter=Nope eq 1" }));
})().catch((err) => {
  process.stdout.write(JSON.stringify({ step: "failed", value: String(err && (err.message || err)),
    response: err && err.response ? { status: err.response.statusCode, body: err.response.body } : null }) + "\n");
  process.exit(1);
});
