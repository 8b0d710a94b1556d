"""``examrig submit trt``: the TDS driver role (register opportunities at a tds mock, post TRTs to a TIS).

It also plays the package loader (the SupportTool) for the packages it is given or finds: a package goes to
TIS (``POST /api/testpackage``) and its hand-scoring items to THSS (``POST /api/item/submit``), as the real
loader sends them; TIS itself never tells THSS about items, so without this THSS queues nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

TENANT_HEADER = "X-Examrig-Tenant"
_KEY_RE = re.compile(rb'<Opportunity\b[^>]*?\bkey="([0-9a-fA-F-]{36})"')
# the first element of a document, after the declaration, comments and processing instructions
_ROOT_RE = re.compile(rb"^(?:\s|<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>)*<(?:[\w.-]+:)?([\w.-]+)", re.S)
#: TIS's scoremode values: "default" (also what an empty one becomes) and "validate" (reference §2.1: any other
#: value is stored and has no effect, which is never what the person typing it meant)
SCOREMODES = ("default", "validate")
#: how long ``submit`` follows each TRT at TIS by default, in seconds
DEFAULT_WAIT = 20.0  # ends as soon as every TRT settled; long enough for a loaded machine
POLL = 0.2


def add_submit_parser(subparsers: Any) -> None:
    """Add ``submit trt PATH... --tis URL [--tds URL] [--thss URL] [--package FILE] …`` to ``subparsers``."""
    submit = subparsers.add_parser("submit", help="send documents to a service as its peer would")
    kinds = submit.add_subparsers(dest="submit_kind", required=True)
    trt = kinds.add_parser("trt", help="post TRTs to a TIS with a statusCallback at the tds mock")
    trt.add_argument("paths", nargs="+", metavar="PATH",
                     help="TRT files, directories of *.xml (test packages among them are loaded first), or "
                          "generated:SEED[:KIND] for a generated TRT (its generated package is loaded first)")
    trt.add_argument("--tis", required=True, help="base URL of the TIS")
    trt.add_argument("--tds", default=None,
                     help="base URL of the tds mock (default: --tis's host, the tds port of examrig's port layout)")
    trt.add_argument("--thss", default=None,
                     help="base URL of the THSS that gets the packages' hand-scoring items (default: --tis's host, "
                          "the thss port of examrig's port layout)")
    trt.add_argument("--no-thss", action="store_true",
                     help="do not send item configurations to a THSS (yours is configured some other way)")
    trt.add_argument("--package", type=Path, help="a v4 test package to load first (instead of one found or generated)")
    trt.add_argument("--tenant", default="default", help="examrig tenant (default %(default)s)")
    trt.add_argument("--scoremode", default=None, choices=SCOREMODES, help="TIS's scoremode query parameter")
    trt.add_argument("--wait", type=float, default=DEFAULT_WAIT, metavar="SECONDS",
                     help="follow each TRT at TIS's state hook for up to this long and say where it stands "
                          "(default %(default)s; 0: do not wait)")
    trt.set_defaults(func=run_submit_trt)


KINDS = ("machine", "partial", "scored", "combined")


class SubmitUsage(ValueError):
    """A path, ``generated:`` spec, flag or ``--package`` that cannot be used; the message is one line."""


@dataclass(frozen=True)
class Inputs:
    """What one ``submit`` sends: packages first (to TIS, items to THSS), then the TRTs."""

    packages: list[tuple[str, bytes]]
    trts: list[tuple[str, bytes]]


def peer_of(tis: str, service: str) -> str:
    """``service``'s base URL on ``tis``'s host in examrig's port layout (tis at base+2, thss +3, tds +4).

    Raises :class:`SubmitUsage` when ``tis`` names no port, since there is then no layout to follow.
    """
    from mocks.registry import ORDER

    parts = urlsplit(tis)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SubmitUsage(f"--tis {tis}: not an http(s) URL")
    if port is None:
        raise SubmitUsage(f"--{service}: cannot be derived from --tis {tis} (no port); pass --{service} URL")
    derived = port + ORDER.index(service) - ORDER.index("tis")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return urlunsplit((parts.scheme, f"{host}:{derived}", "", "", ""))


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


def root_name(doc: bytes) -> str | None:
    """The local name of a document's root element, or None (not XML as far as a glance tells)."""
    m = _ROOT_RE.match(doc[:65536])
    return m.group(1).decode("ascii", "replace") if m else None


def _files(paths: list[str]) -> Iterator[tuple[str, bytes]]:
    for raw in paths:
        if raw.startswith("generated:"):
            continue
        path = Path(raw)
        children = sorted(path.glob("*.xml")) if path.is_dir() else [path]
        for child in children:
            yield str(child), child.read_bytes()


def collect(paths: list[str], package: Path | None) -> Inputs:
    """Sort the inputs: test packages (``--package``, found beside the TRTs, generated for ``generated:``
    specs) and TRTs, each once, in the order given."""
    from contracts.generate import generate_testpackage, generate_trt

    packages: list[tuple[str, bytes]] = []
    trts: list[tuple[str, bytes]] = []
    explicit = package.read_bytes() if package is not None else None
    if explicit is not None:
        packages.append((str(package), explicit))
    for name, doc in _files(paths):
        if root_name(doc) == "TestPackage":
            if explicit is None:  # --package wins over what lies beside the TRTs
                packages.append((name, doc))
            else:
                print(f"{name}: a test package, not a TRT; not sent (--package {package} is used)")
            continue
        trts.append((name, doc))
    for raw in paths:  # generated TRTs keep their place after the files: the order of posting is the order given
        if not raw.startswith("generated:"):
            continue
        _, seed, *rest = raw.split(":")
        kind = rest[0] if rest and rest[0] else "machine"
        own = explicit
        if own is None:
            own = generate_testpackage(int(seed), combined=kind == "combined")
            packages.append((f"generated package of {raw}", own))
        trts.append((raw, generate_trt(int(seed), kind=kind, package=own)))
    unique: dict[str, tuple[str, bytes]] = {}
    for name, doc in packages:
        unique.setdefault(hashlib.sha256(doc).hexdigest(), (name, doc))
    return Inputs(list(unique.values()), trts)


def run_submit_trt(args: argparse.Namespace) -> int:
    """Load the packages (TIS, and their hand-scoring items at THSS), register and post each TRT, then follow
    each at TIS for up to ``--wait`` seconds.

    Exit 0 when every post got 200 and every TRT followed was processed (or waits for hand scores); 1 when a
    post was refused, TIS rejected a TRT, or a TRT still waits in ``source`` (its test unknown, or no worker
    took it); 2 for unusable inputs (a missing file, ``generated:abc``, a missing ``--package``, a ``--tis``
    without a port and no ``--tds``); 3 if a service is unreachable.
    """
    try:
        _check_inputs(args.paths, args.package)
        tis = args.tis.rstrip("/")
        tds = (args.tds or peer_of(tis, "tds")).rstrip("/")
        if args.wait < 0:
            raise SubmitUsage("--wait must not be negative")
    except SubmitUsage as exc:
        print(f"examrig: error: {exc}", file=sys.stderr)
        return 2
    thss: str | None = None
    if not args.no_thss:
        try:
            thss = (args.thss or peer_of(tis, "thss")).rstrip("/")
        except SubmitUsage as exc:
            print(f"thss: not configured ({exc})")
    session = requests.Session()
    headers = {TENANT_HEADER: args.tenant}
    failed = 0
    keys: list[tuple[str, str]] = []
    try:
        inputs = collect(args.paths, args.package)
        for name, package in inputs.packages:
            if not _load_package(session, headers, tis, thss, explicit_thss=args.thss is not None,
                                 name=name, package=package):
                return 1
        for name, doc in inputs.trts:
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
            if r.status_code == 200:
                keys.append((name, key))
            else:
                failed += 1
        if keys and args.wait > 0:
            failed += follow(session, headers, tis, thss, keys, args.wait)
    except requests.RequestException as exc:
        print(f"examrig submit: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 3
    except OSError as exc:  # a file that went away or cannot be read after the check
        print(f"examrig: error: {exc}", file=sys.stderr)
        return 2
    return 1 if failed else 0


def _load_package(session: requests.Session, headers: dict[str, str], tis: str, thss: str | None, *,
                  explicit_thss: bool, name: str, package: bytes) -> bool:
    """POST the package to TIS and its hand-scoring items to THSS; False when TIS refused it."""
    from contracts.thss_items import PackageItemsError, thss_item_configs
    from contracts.xmlsafe import XmlError

    r = session.post(f"{tis}/api/testpackage", data=package, headers=headers, timeout=60)
    print(f"package {name}: {r.status_code} {r.text[:200]}".rstrip())
    if r.status_code != 201:
        return False
    try:
        items = thss_item_configs(package)
    except (PackageItemsError, XmlError) as exc:
        print(f"package {name}: hand-scoring items not read, thss not configured: {exc}")
        return True
    if not items or thss is None:
        return True
    try:
        r = session.post(f"{thss}/api/item/submit", json=items, headers=headers, timeout=60)
    except requests.ConnectionError:
        if explicit_thss:
            raise
        # a derived URL: your TIS may have its THSS elsewhere; TRTs without hand-scored items still go through
        print(f"package {name}: no thss at {thss} (pass --thss URL, or --no-thss): {len(items)} hand-scoring "
              "item(s) not configured, so THSS will queue none of them")
        return True
    print(f"package {name}: {len(items)} hand-scoring item(s) -> thss {r.status_code} {r.text[:200]}".rstrip())
    return True


def follow(session: requests.Session, headers: dict[str, str], tis: str, thss: str | None,
           keys: list[tuple[str, str]], wait: float) -> int:
    """Poll TIS's state hook until each TRT is settled or ``wait`` seconds passed; print where each stands.

    Returns how many ended badly (rejected, unknown test, still waiting). A TIS without examrig's state hook
    is not followed (one line says so).
    """
    deadline = time.monotonic() + wait
    pending = dict(keys)
    names = {key: name for name, key in keys}
    bad = 0
    last: dict[str, dict[str, Any]] = {}
    while pending:
        for key in list(pending.values()):
            r = session.get(f"{tis}/_examrig/state/opportunities/{key}", headers=headers, timeout=30)
            if r.status_code != 200 or not r.headers.get("Content-Type", "").startswith("application/json"):
                print(f"TIS at {tis} has no examrig state hook ({r.status_code}): not following the TRTs")
                return bad
            state: dict[str, Any] = r.json()
            last[key] = state
            verdict = settled(state)
            if verdict is not None:
                ok, text = verdict
                print(f"{names[key]}: {key}: {text}")
                bad += not ok
                pending.pop(names[key])
        if not pending:
            break
        if time.monotonic() >= deadline:
            for name, key in pending.items():
                print(f"{name}: {key}: {unsettled(last.get(key, {}), wait)}")
                bad += 1
            break
        time.sleep(POLL)
    if thss is not None and any(s.get("statuses", [])[-1:] == ["handscoring"] for s in last.values()):
        print(f"hand-scored items wait at thss: GET {thss}/_examrig/state/queue/all lists them, "
              f"POST {thss}/_examrig/score scores one (docs/thss.md)")
    return bad


def settled(state: dict[str, Any]) -> tuple[bool, str] | None:
    """(good, description) once TIS is done with the opportunity for now, else None.

    A file whose test is unknown is settled at once (nothing happens until a package names the test); a file in
    ``source`` or ``processing`` otherwise is not; then a reject is bad and anything else is reported as the
    status TIS wrote (``handscoring``: waiting for THSS; ``scored``, ``completed``, … : sent on).
    """
    files = state.get("files", [])
    for waiting in state.get("waiting", []):
        if str(waiting.get("reason", "")).startswith("unknown test"):
            return False, (f"waits in source: TIS has no test package for test {waiting.get('testName')!r} "
                           "(load its package: --package FILE, or put it beside the TRTs)")
    if any(f.get("location") in ("source", "processing") for f in files):
        return None
    statuses = state.get("statuses", [])
    if any(f.get("location") == "reject" for f in files):
        why = "; ".join(v.get("message", "") for v in state.get("validation", []) if v.get("message")) or \
            "; ".join(str(s.get("error")) for s in state.get("sends", []) if s.get("error")) or "see TIS's state"
        return False, f"rejected by TIS: {why[:300]}"
    if not statuses:
        return None
    status = statuses[-1]
    if status == "handscoring":
        waiting_items = [i["item"] for i in state.get("itemScores", []) if i.get("status") == "WaitingForHandScore"]
        return True, (f"handscoring: {len(waiting_items)} item(s) sent to THSS for hand scores "
                      f"({', '.join(waiting_items)})")
    return True, f"{status}: processed, sent on (files: {', '.join(f['location'] for f in files)})"


def unsettled(state: dict[str, Any], wait: float) -> str:
    """What to say about an opportunity still in ``source``/``processing`` when the wait ran out."""
    locations = [f.get("location") for f in state.get("files", [])]
    if "processing" in locations:
        return f"still being processed after {wait:g} s (a slow peer?); see TIS's state/opportunities/<key>"
    return (f"still in source after {wait:g} s: no TIS worker took it (is serve's TIS worker off? then run "
            "`examrig worker tis`; docs/tis.md)")
