"""Microsoft datajs 1.0.3 (npm) under Node through the seed document's flow: verbose JSON at
MaxDataServiceVersion 2.0, its own metadataHandler for ``$metadata`` (datajs_flow.js)."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import requests

from contracts.odata.csdl import parse
from contracts.odata.formats import check_verbose
from tests.deliveryodata.interop.conftest import PASSWORD, USER, Served

SCRIPT = Path(__file__).with_name("datajs_flow.js")
# what datajs 1.0.3 sends on a read (its defaultHandler: accept and maxDataServiceVersion)
DATAJS_HEADERS = {"Accept": "application/atomsvc+xml;q=0.8, application/json;odata=verbose;q=0.5, */*;q=0.1",
                  "MaxDataServiceVersion": "2.0", "DataServiceVersion": "1.0"}


def _run(datajs_path: Path, served: Served) -> dict[str, Any]:
    node = shutil.which("node")
    assert node is not None
    env = {**os.environ, "NODE_PATH": str(datajs_path / "node_modules")}
    done = subprocess.run([node, str(SCRIPT), served.root, USER, PASSWORD], capture_output=True, text=True,
                          timeout=300, env=env, check=False)
    steps = {line["step"]: line for line in map(json.loads, done.stdout.splitlines())}
    assert done.returncode == 0, (steps.get("failed"), done.stderr[-2000:])
    return {name: line["value"] for name, line in steps.items()}


def test_datajs_runs_the_whole_flow(datajs_path: Path, served: Served) -> None:
    steps = _run(datajs_path, served)
    assert steps["metadata"]["namespace"] == "QM.DeliveryODataService.DTO"
    assert {"Attempt", "Participant", "Assessment"} <= set(steps["metadata"]["types"])
    participants = steps["participants"]
    assert participants["version"] == "2.0"
    assert participants["contentType"].startswith("application/json;odata=verbose")
    [ada] = participants["results"]
    assert ada["FirstName"] == "Ada" and re.match(r"^/Date\(\d+\)/$", ada["RegistrationDateTime"])
    assert sorted(steps["assessments"]) == ["Proctored exam", "Secure exam"]
    created = steps["created"]
    assert created["status"] == 201 and created["data"]["LockStatus"] is True
    assert created["data"]["AssessmentID"] == "1234567890876543"  # Int64 as a string
    assert created["data"]["ParticipantFacingQMLobbyUrl"] is None
    result_uri = f"{served.root}Attempts({created['data']['ID']})/Result"
    assert created["data"]["Result"] == {"__deferred": {"uri": result_uri}}
    assert steps["filtered"] == [created["data"]["ID"]]
    assert steps["paged"] == {"count": "250", "ids": 250, "distinct": 250, "pages": 3}
    assert steps["merged"] == 204 and steps["patched"] == 204
    read = steps["read"]
    assert read["lobby"].startswith(f"{served.url}/lobby/400449/lobby/SystemCheck/{created['data']['ID']}?")
    assert read["lock"] is False and read["check"] == "about:blank" and read["metadata"] == [["S1", "seat 4"]]
    duplicate, bad = steps["duplicate"], steps["badfilter"]
    assert duplicate["status"] == 409
    message = duplicate["error"]["error"]["message"]["value"]
    assert message == "An entity with ExternalAttemptID 'datajs-1' already exists."
    assert bad["status"] == 400
    assert "Could not find a property named 'Nope'" in bad["error"]["error"]["message"]["value"]


def test_what_datajs_reads_follows_the_served_csdl(served: Served) -> None:
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    auth = {"Authorization": f"Basic {token}"}
    model = parse(requests.get(served.root + "$metadata", headers=auth, timeout=30).text)
    for path, entity_set in (("Participants?$inlinecount=allpages", "Participants"), ("Assessments", "Assessments"),
                             ("Participants(987654321)", "Participants"), ("Attempts?$filter=Nope%20eq%201", None)):
        response = requests.get(served.root + path, headers={**auth, **DATAJS_HEADERS}, timeout=30)
        assert response.headers["DataServiceVersion"] == "2.0", path
        assert response.headers["Content-Type"] == "application/json;odata=verbose;charset=utf-8", path
        # DateTime is written as \/Date(ms)\/ (the escaped slash is what marks it as a date)
        if entity_set == "Participants":
            assert re.search(r'"RegistrationDateTime":"\\/Date\(\d+\)\\/"', response.text), response.text[:300]
        assert not check_verbose(model, response.json(), entity_set), (path, check_verbose(model, response.json(),
                                                                                            entity_set))
