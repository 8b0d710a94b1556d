"""Real OData clients against ``examrig serve deliveryodata`` on port 0: the server, the seed, the installers.

The clients are installed at test time into a temporary directory (never vendored): Pyslet from
PyPI with ``pip install --target``, datajs from npm (tests/npm.py). When one cannot
be installed the test fails under ``CI=true`` and is skipped elsewhere, with the reason.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.npm import npm_install

ROOT = Path(__file__).resolve().parents[3]
CUSTOMER = "400449"
USER = PASSWORD = "examrig"
TENANT = "default"
PYSLET = "pyslet==0.7.20170805"
DATAJS = "datajs@1.0.3"
XHR = "xmlhttprequest@1.8.0"
XMLDOM = "@xmldom/xmldom@0.8.10"  # window.DOMParser for datajs's metadataHandler (Node has none)
# the seed document's flow: one participant and two assessments by name, 250 more participants to page through
SEED = {
    "participants": [{"ID": 987654321, "FirstName": "Ada", "LastName": "Lovelace", "Name": "ada"}],
    "assessments": [{"ID": "1234567890876543", "Name": "Proctored exam", "Language": "en-US"},
                    {"ID": "9788463565326947", "Name": "Secure exam", "Language": "en-US", "IsSecure": True}],
    "monitoringTypes": [{"ID": 5, "Name": "UNMONITORED", "SystemCheckUrl": "about:blank"}],
    "generate": [{"seed": 7, "participants": 249, "assessments": 0, "testCenters": 0, "monitoringTypes": 0}],
}


def unavailable(reason: str) -> None:
    """Fail under CI (the tool must be installable there), skip elsewhere with the reason."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


@dataclass
class Served:
    url: str
    root: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The mock served by the CLI on port 0 (an in-memory database), seeded with the flow's data."""
    workdir = tmp_path_factory.mktemp("serve")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "conformance.cli", "serve", "deliveryodata", "--port", "0",
                             "--db", "sqlite://", "--seed", "3"], cwd=workdir, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    url = None
    deadline = time.monotonic() + 60
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        found = re.match(r"examrig: deliveryodata listening on (https?://\S+)", line)
        if found:
            url = found.group(1)
            break
    if url is None:
        proc.kill()
        raise AssertionError(f"deliveryodata did not start: {proc.stderr.read() if proc.stderr else ''}")
    try:
        seeded = requests.post(f"{url}/_examrig/seed", json=SEED, timeout=30)
        assert seeded.status_code == 201, seeded.text
        yield Served(url, f"{url}/deliveryodata/{CUSTOMER}/")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


@pytest.fixture(scope="session")
def pyslet_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Pyslet 0.7.20170805 installed into a temporary directory (it imports on Python 3.11)."""
    target = tmp_path_factory.mktemp("pyslet")
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                           "--no-deps", "--target", str(target), PYSLET], capture_output=True, text=True,
                          timeout=600, check=False)
    if done.returncode != 0:
        unavailable(f"pip could not install {PYSLET}: {done.stderr.strip()[-400:]}")
    return target


@pytest.fixture(scope="session")
def datajs_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """datajs 1.0.3 and its shims (xmlhttprequest, @xmldom/xmldom) installed from npm into a temporary directory."""
    if shutil.which("node") is None:
        unavailable("node is needed for datajs (apt-get install nodejs npm)")
    prefix = tmp_path_factory.mktemp("datajs")
    reason = npm_install(prefix, [DATAJS, XHR, XMLDOM])
    if reason is not None:
        unavailable(reason)
    return prefix
