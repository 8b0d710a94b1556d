"""Drive a server with wrk (Debian package ``wrk``), the C event-loop load generator, from the benchmarks.

wrk keeps its connections on two event-loop threads, so the load generator takes little of the
machine's two cores and no Python scheduling of its own enters the latencies (the Python
generator in the benchmarks runs 16 threads per process under one GIL: its own queueing shows up
in its p99). A Lua script makes the requests (a random ``Attempts(n)``, or a POST with a fresh
ExternalAttemptID and every tenth one shared), counts the statuses per thread and prints, at
the end, one JSON line: requests, duration, socket errors, statuses and wrk's latency
percentiles (p50, p90, p99, p99.9; wrk keeps every latency in a histogram of microseconds).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

SCRIPT = r"""
local counter = 0
local threads = {}
local kind, ids, tag, auth, tenant = "%(kind)s", %(ids)d, "%(tag)s", "%(auth)s", "%(tenant)s"
local accept = "%(accept)s"

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  seq = 0
  math.randomseed(tid * 7919 + %(seed)d)
  headers = {["Authorization"] = auth, ["X-Examrig-Tenant"] = tenant, ["Content-Type"] = "application/json"}
  if accept ~= "" then headers["Accept"] = accept end
end

function request()
  seq = seq + 1
  if kind == "get" then
    return wrk.format("GET", "/deliveryodata/400449/Attempts(" .. math.random(1, ids) .. ")", headers)
  end
  local ext
  if seq %% 10 == 0 then
    ext = tag .. "-dup-" .. (math.floor(seq / 10) %% 50)
  else
    ext = tag .. "-" .. tid .. "-" .. seq
  end
  local body = '{"ExternalAttemptID": "' .. ext .. '", "ParticipantID": 1, "AssessmentID": "100000001"}'
  return wrk.format("POST", "/deliveryodata/400449/Attempts", headers, body)
end

function response(status, hdrs, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local merged = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      merged[tostring(status)] = (merged[tostring(status)] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(merged) do
    table.insert(parts, '"' .. status .. '": ' .. n)
  end
  local pct = {}
  for _, q in ipairs({50, 90, 99, 99.9}) do
    table.insert(pct, '"' .. q .. '": ' .. (summary.requests > 0 and latency:percentile(q) or 0))
  end
  local e = summary.errors
  local fmt = 'WRKJSON {"requests": %%d, "duration_us": %%d, "errors": %%d, "statuses": {%%s}, '
    .. '"percentiles_us": {%%s}}\n'
  io.write(string.format(fmt,
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    table.concat(parts, ", "), table.concat(pct, ", ")))
end
"""


def available() -> bool:
    """Whether wrk is on PATH."""
    return shutil.which("wrk") is not None


def run(port: int, kind: str, ids: int, connections: int, seconds: float, tag: str, *, auth: str,
        tenant: str, threads: int = 2, seed: int = 1, accept: str = "") -> dict[str, Any]:
    """One wrk run against ``127.0.0.1:port``: req/s, p99 (ms), statuses and the latency histogram."""
    script = SCRIPT % {"kind": kind, "ids": ids, "tag": tag, "auth": auth, "tenant": tenant, "seed": seed,
                       "accept": accept}
    with tempfile.TemporaryDirectory(prefix="examrig-wrk-") as tmp:
        path = Path(tmp) / "load.lua"
        path.write_text(script)
        out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "30s",
                              "-s", str(path), f"http://127.0.0.1:{port}/"],
                             capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    line = next((ln for ln in out.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{out}")
    data = json.loads(line[len("WRKJSON "):])
    pct = {float(q): float(us) / 1000.0 for q, us in data["percentiles_us"].items()}
    statuses = {int(k): int(v) for k, v in data["statuses"].items()}
    duration = data["duration_us"] / 1e6
    return {"rps": data["requests"] / duration, "p50_ms": pct[50.0], "p99_ms": pct[99.0], "p999_ms": pct[99.9],
            "statuses": statuses, "errors": data["errors"], "requests": data["requests"]}

