"""Which WSGI server examrig serves with: cheroot, waitress and werkzeug's dev server on the same apps.

Prints requests per second and p50/p99 for a bare WSGI app and for the tds mock's
health and callback endpoints, on each server, in the same run; ratios are against
the bare app on cheroot. Run: ``python bench/bench_servers.py [--seconds 5] [--connections 32]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._load import LoadResult, run_load


def bare_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    body = b'{"status":"ok"}'
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def serve(kind: str, app: Any) -> tuple[int, Callable[[], None]]:
    if kind == "cheroot":
        from cheroot import wsgi
        server = wsgi.Server(("127.0.0.1", 0), app, numthreads=16, request_queue_size=128)
        server.prepare()
        thread = threading.Thread(target=server.serve, daemon=True)
        thread.start()
        return int(server.bind_addr[1]), server.stop
    if kind == "waitress":
        import logging

        import waitress
        logging.getLogger("waitress.queue").setLevel(logging.ERROR)
        wserver = waitress.create_server(app, host="127.0.0.1", port=0, threads=16)
        thread = threading.Thread(target=wserver.run, daemon=True)
        thread.start()
        return int(wserver.effective_port), wserver.close
    import logging

    from werkzeug.serving import make_server
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    dev = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=dev.serve_forever, daemon=True)
    thread.start()
    return int(dev.server_port), dev.shutdown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()

    import tempfile

    from mocks.core.app import Runtime
    from mocks.core.settings import Settings
    from mocks.tds.service import Service
    tmp = tempfile.mkdtemp()
    runtime = Runtime.create(Settings(journal_capacity=10_000), db=f"sqlite:///{tmp}/bench.db")
    tds = Service(runtime)
    opp = "aa19a641-c782-4426-8586-e7d77edf2d02"
    tds.model.seed("default", [{"oppKey": opp, "status": "reported"}])
    reply = json.dumps({"oppKey": opp, "success": True}).encode()
    cases = [
        ("bare WSGI app", bare_app, "GET", "/", None, {}),
        ("tds GET /_examrig/health", tds, "GET", "/_examrig/health", None, {}),
        ("tds POST tisReply (write)", tds, "POST", "/student/TIS/API/tisReply", reply,
         {"Content-Type": "application/json"}),
    ]
    print(f"# python {platform.python_version()} on {platform.machine()}, {args.connections} connections, "
          f"{args.seconds:.0f} s per case, load from 2 separate processes")
    baseline: LoadResult | None = None
    print(f"{'server':<10} {'case':<28} {'req/s':>8} {'ratio':>6} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}")
    for kind in ("cheroot", "waitress", "werkzeug"):
        for label, app, method, path, body, headers in cases:
            port, stop = serve(kind, app)
            try:
                result = run_load(f"http://127.0.0.1:{port}{path}", method=method, body=body, headers=headers,
                                  connections=args.connections, duration=args.seconds)
            finally:
                stop()
            if baseline is None:
                baseline = result
            ratio = result.rps / baseline.rps if baseline.rps else 0.0
            print(f"{kind:<10} {label:<28} {result.rps:>8.0f} {ratio:>6.2f} {result.p50_ms:>8.2f} "
                  f"{result.p99_ms:>8.2f} {result.errors:>6}", flush=True)
    runtime.store.dispose()


if __name__ == "__main__":
    main()
