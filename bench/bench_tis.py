"""TIS throughput on SQLite in process: receiver alone and end to end, beside a bare WSGI app in the same run."""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from typing import Any

from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from contracts.generate import generate_testpackage, generate_trt
from mocks.core.app import Runtime
from mocks.core.inprocess import WSGIAdapter
from mocks.core.settings import Settings
from mocks.tis.service import Service


@Request.application
def bare(request: Request) -> Response:
    """The reference: a WSGI app that reads the body and answers 200 (also the DW and TDS stand-in)."""
    request.get_data()
    if request.path.endswith("/api/test/submit"):
        return Response('{"Files":[{"FileName":"f","Success":true,"ErrorMessage":null}]}', 200)
    return Response(b"", 200)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rt = Runtime.create(Settings(seed=1, data_dir=tmp))
        rt.mounts["http://peer.bench/"] = WSGIAdapter(bare)  # type: ignore[arg-type]
        tis = Service(rt, {"worker": False, "dw_urls": ["http://peer.bench/exams/imports"]})
        client = Client(tis)
        pkg = generate_testpackage(1, items=40, hand_scored=False)
        assert client.post("/api/testpackage", data=pkg).status_code == 201
        trts = [re.sub(rb'key="[0-9a-f-]{36}"', f'key="00000000-0000-4000-8000-{i:012d}"'.encode(),
                       generate_trt(1, package=pkg), count=1) for i in range(args.n)]
        url = "/api/testresult?statusCallback=http://peer.bench/student/TIS/API/tisReply"
        bare_client: Any = Client(bare)
        t0 = time.perf_counter()
        for doc in trts:
            bare_client.post(url, data=doc)
        t_bare = time.perf_counter() - t0
        t0 = time.perf_counter()
        for doc in trts:
            assert client.post(url, data=doc).status_code == 200
        t_recv = time.perf_counter() - t0
        t0 = time.perf_counter()
        done = tis.process_pending()
        t_proc = time.perf_counter() - t0
        assert done == args.n, done
        print(f"bare WSGI app: {args.n / t_bare:9.0f} req/s")
        print(f"receiver:      {args.n / t_recv:9.0f} TRT/s accepted and committed ({t_bare / t_recv:.2f} of bare)")
        print(f"processing:    {args.n / t_proc:9.0f} TRT/s scored, DW post, TDS ack (40 items, one worker)")
        print(f"end to end:    {args.n / (t_recv + t_proc):9.0f} TRT/s")
        rt.store.dispose()


if __name__ == "__main__":
    main()
