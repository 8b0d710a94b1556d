"""``examrig submit trt``: the TDS driver role (register opportunities at a tds mock, post TRTs to a TIS)."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

TENANT_HEADER = "X-Examrig-Tenant"
_KEY_RE = re.compile(rb'<Opportunity\b[^>]*?\bkey="([0-9a-fA-F-]{36})"')


def add_submit_parser(subparsers: Any) -> None:
    """Add ``submit trt PATH... --tis URL [--tds URL] [--package FILE] [--tenant T]`` to ``subparsers``."""
    submit = subparsers.add_parser("submit", help="send documents to a service as its peer would")
    kinds = submit.add_subparsers(dest="submit_kind", required=True)
    trt = kinds.add_parser("trt", help="post TRTs to a TIS with a statusCallback at the tds mock")
    trt.add_argument("paths", nargs="+", metavar="PATH",
                     help="TRT files, directories of *.xml, or generated:SEED[:KIND] for a generated TRT")
    trt.add_argument("--tis", required=True, help="base URL of the TIS")
    trt.add_argument("--tds", default="http://127.0.0.1:8604", help="base URL of the tds mock (default %(default)s)")
    trt.add_argument("--package", type=Path, help="a v4 test package to load into the TIS first")
    trt.add_argument("--tenant", default="default", help="examrig tenant (default %(default)s)")
    trt.add_argument("--scoremode", default=None, help="scoremode query parameter (e.g. validate)")
    trt.set_defaults(func=run_submit_trt)


KINDS = ("machine", "partial", "scored", "combined")


class SubmitUsage(ValueError):
    """A path, ``generated:`` spec or ``--package`` that cannot be used; the message is one line."""


def _check_inputs(paths: list[str], package: Path | None) -> None:
    """Refuse unusable inputs before anything is sent (a half-done submission helps nobody)."""
    if package is not None and not package.is_file():
        raise SubmitUsage(f"--package {package}: no such file")
    for raw in paths:
        if raw.startswith("generated:"):
            _, seed, *rest = [*raw.split(":"), ""]
            if not seed.isascii() or not seed.isdigit():
                raise SubmitUsage(f"{raw}: the seed must be a non-negative integer (generated:SEED[:KIND])")
            if rest[0] and rest[0] not in KINDS:
                raise SubmitUsage(f"{raw}: kind must be one of {', '.join(KINDS)}")
        elif not Path(raw).exists():
            raise SubmitUsage(f"{raw}: no such file or directory")


def _documents(paths: list[str], package: bytes | None) -> Iterator[tuple[str, bytes]]:
    for raw in paths:
        if raw.startswith("generated:"):
            from contracts.generate import generate_trt
            _, seed, *rest = raw.split(":")
            yield raw, generate_trt(int(seed), kind=rest[0] if rest and rest[0] else "machine", package=package)
            continue
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.glob("*.xml")):
                yield str(child), child.read_bytes()
        else:
            yield raw, path.read_bytes()


def run_submit_trt(args: argparse.Namespace) -> int:
    """Load the package, then register and post each TRT; exit 0 when every post got 200, 1 if not, 2 for
    unusable inputs (a missing file, ``generated:abc``, a missing ``--package``), 3 if unreachable."""
    try:
        _check_inputs(args.paths, args.package)
    except SubmitUsage as exc:
        print(f"examrig: error: {exc}", file=sys.stderr)
        return 2
    session = requests.Session()
    headers = {TENANT_HEADER: args.tenant}
    tis, tds = args.tis.rstrip("/"), args.tds.rstrip("/")
    package: bytes | None = None
    failed = 0
    try:
        if args.package is not None:
            package = args.package.read_bytes()
            r = session.post(f"{tis}/api/testpackage", data=package, headers=headers, timeout=60)
            print(f"package {args.package}: {r.status_code} {r.text[:200]}".rstrip())
            if r.status_code != 201:
                return 1
        for name, doc in _documents(args.paths, package):
            m = _KEY_RE.search(doc)
            if m is None:
                print(f"{name}: no Opportunity@key, not sent", file=sys.stderr)
                failed += 1
                continue
            key = m.group(1).decode().lower()
            r = session.post(f"{tds}/_examrig/seed", json={"opportunities": [{"oppKey": key, "status": "submitted"}]},
                             headers=headers, timeout=30)
            if r.status_code != 201:
                print(f"{name}: tds refused the opportunity {key}: {r.status_code} {r.text[:200]}", file=sys.stderr)
                failed += 1
                continue
            params = {"statusCallback": f"{tds}/student/TIS/API/tisReply"}
            if args.scoremode:
                params["scoremode"] = args.scoremode
            r = session.post(f"{tis}/api/testresult", params=params, data=doc,
                             headers={**headers, "Content-Type": "application/xml"}, timeout=60)
            print(f"{name}: {key} -> {r.status_code} {r.text[:200]}".rstrip())
            failed += r.status_code != 200
    except requests.RequestException as exc:
        print(f"examrig submit: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 3
    except OSError as exc:  # a file that went away or cannot be read after the check
        print(f"examrig: error: {exc}", file=sys.stderr)
        return 2
    return 1 if failed else 0
