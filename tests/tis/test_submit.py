"""``examrig submit trt`` through a small argparse harness, against responses-backed TIS and TDS."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import responses

from conformance.submit import add_submit_parser
from contracts.generate import generate_testpackage, generate_trt
from tests.tis.conftest import opp_key


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="examrig")
    add_submit_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


@responses.activate
def test_submit_registers_then_posts_each_trt(tmp_path: Path) -> None:
    pkg = generate_testpackage(3, items=4)
    (tmp_path / "pkg.xml").write_bytes(pkg)
    trt_dir = tmp_path / "trts"
    trt_dir.mkdir()
    files = [generate_trt(s, package=pkg) for s in (1, 2)]
    for n, doc in enumerate(files):
        (trt_dir / f"{n}.xml").write_bytes(doc)
    responses.add("POST", "http://tis.test/api/testpackage", status=201)
    responses.add("POST", "http://tds.test/_examrig/seed", status=201, json={"loaded": {"opportunities": 1}})
    responses.add("POST", "http://tis.test/api/testresult", status=200)
    code = _run(["submit", "trt", str(trt_dir), "generated:9", "--tis", "http://tis.test", "--tds", "http://tds.test",
                 "--package", str(tmp_path / "pkg.xml"), "--tenant", "x1", "--no-thss", "--wait", "0"])
    assert code == 0
    calls = [(c.request.method, c.request.url.split("?")[0]) for c in responses.calls]
    assert calls[0] == ("POST", "http://tis.test/api/testpackage")
    seeds = [json.loads(c.request.body) for c in responses.calls if "/_examrig/seed" in c.request.url]
    assert [s["opportunities"][0]["oppKey"] for s in seeds][:2] == [opp_key(d) for d in files]
    posts = [c.request for c in responses.calls if "/api/testresult" in c.request.url]
    assert len(posts) == 3
    assert "statusCallback=http%3A%2F%2Ftds.test%2Fstudent%2FTIS%2FAPI%2FtisReply" in posts[0].url
    assert all(p.headers["X-Examrig-Tenant"] == "x1" for p in posts)


@responses.activate
def test_submit_fails_when_tis_refuses(tmp_path: Path) -> None:
    (tmp_path / "a.xml").write_bytes(generate_trt(4))
    responses.add("POST", "http://tds.test/_examrig/seed", status=201, json={})
    responses.add("POST", "http://tis.test/api/testresult", status=400,
                  json={"Message": "Content format is not valid."})
    assert _run(["submit", "trt", str(tmp_path / "a.xml"), "--tis", "http://tis.test", "--tds", "http://tds.test"]) == 1
