"""Pyslet 0.7.20170805's OData v2 client (Atom, DataServiceVersion 2.0) through the seed document's flow.

Includes a Python 3 version of the flow of Questionmark's ``dodata_demo.py`` (a Pyslet client; see
../shared/reference/deliveryodata.md section 4), written here from that description: load the service,
list Participants and Assessments, create a locked attempt with ParticipantFacingProctorSystemWidgetUrl,
find it by ExternalAttemptID, read it for the lobby URL.
"""

from __future__ import annotations

import base64
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from lxml import etree

from contracts.odata.formats import check_atom
from tests.deliveryodata.interop.conftest import PASSWORD, USER, Served


@pytest.fixture
def pyslet(pyslet_path: Path) -> Iterator[Any]:
    """The pyslet package, imported from where it was installed for this run."""
    sys.path.insert(0, str(pyslet_path))
    try:
        import pyslet.odata2.client as client  # type: ignore[import-not-found, import-untyped]
        yield client
    finally:
        sys.path.remove(str(pyslet_path))


def _client(pyslet: Any, served: Served) -> Any:
    from pyslet import rfc2396 as uri  # type: ignore[import-not-found, import-untyped]
    from pyslet.http import auth  # type: ignore[import-not-found, import-untyped]
    from pyslet.odata2 import client as odata  # type: ignore[import-not-found, import-untyped]

    c = odata.Client()
    credentials = auth.BasicCredentials()
    credentials.userid, credentials.password = USER, PASSWORD
    credentials.protectionSpace = uri.URI.from_octets(served.root).get_canonical_root()
    credentials.add_success_path(uri.URI.from_octets(served.root).abs_path)
    c.add_credentials(credentials)
    c.load_service(served.root)
    return c


def _raw(served: Served, path: str) -> requests.Response:
    """The same request Pyslet sends (Atom, v2 headers), to read what the client does not expose."""
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    return requests.get(served.root + path, timeout=30, headers={
        "Authorization": f"Basic {token}", "Accept": "application/atom+xml",
        "DataServiceVersion": "2.0; pyslet 0.7.20170805", "MaxDataServiceVersion": "2.0; pyslet 0.7.20170805"})


def test_dodata_demo_flow(pyslet: Any, served: Served) -> None:
    c_module = pyslet
    c = _client(pyslet, served)
    assert {"Attempts", "Participants", "Assessments"} <= set(c.feeds)
    from pyslet.odata2 import core  # type: ignore[import-not-found, import-untyped]
    from pyslet.odata2 import csdl as edm  # type: ignore[import-not-found, import-untyped]

    with c.feeds["Participants"].open() as participants:
        ada = participants[987654321]
        assert ada["FirstName"].value == "Ada"
    with c.feeds["Assessments"].open() as assessments:
        names = {a["Name"].value for a in assessments.itervalues()}
        assert names == {"Proctored exam", "Secure exam"}
    with c.feeds["Attempts"].open() as attempts:
        attempt = attempts.new_entity()
        attempt["ExternalAttemptID"].set_from_value("Heathrow/2026-12-01T21:00:00")
        attempt["ParticipantID"].set_from_value(987654321)
        attempt["AssessmentID"].set_from_value(1234567890876543)
        attempt["LockRequired"].set_from_value(True)
        attempt["LockStatus"].set_from_value(True)
        attempt["Disabled"].set_from_value(False)
        attempt["ParticipantFacingProctorSystemWidgetUrl"].set_from_value("https://proctor.example/widget")
        attempts.insert_entity(attempt)
        created = attempt["ID"].value
        assert created and attempt["ProctorFacingQMControlsWidgetUrl"].value.startswith(served.url)
        assert attempt["ParticipantFacingQMLobbyUrl"].value is None
    with c.feeds["AttemptMetadata"].open() as metadata:  # the attempt's metadata, posted as an Atom entry
        item = metadata.new_entity()
        item["AttemptId"].set_from_value(created)
        item["Key"].set_from_value("S1")
        item["Value"].set_from_value("seat 4")
        metadata.insert_entity(item)
        assert item["ID"].value
    with c.feeds["Attempts"].open() as attempts:
        attempts.set_expand({"AttemptMetadata": None})
        assert [(m["Key"].value, m["Value"].value) for m in attempts[created]["AttemptMetadata"].open().values()] \
            == [("S1", "seat 4")]
        attempts.set_expand(None)
        # find it again by ExternalAttemptID
        attempts.set_filter(core.CommonExpression.from_str("ExternalAttemptID eq 'Heathrow/2026-12-01T21:00:00'"))
        found = list(attempts.itervalues())
        assert [a["ID"].value for a in found] == [created]
        attempts.set_filter(None)
        # read it for its lobby URL (minted on every entity read)
        again = attempts[created]
        assert again["ParticipantFacingQMLobbyUrl"].value.startswith(f"{served.url}/lobby/400449/lobby/SystemCheck/")
        # MERGE (Pyslet's update of a selection; with every property selected it sends PUT) of LockStatus
        again.expand({}, {"LockStatus": None})
        again["LockStatus"].set_from_value(False)
        attempts.update_entity(again)
        assert attempts[created]["LockStatus"].value is False
        # a duplicate ExternalAttemptID: the error parsed by Pyslet from the m:error body
        dup = attempts.new_entity()
        for name in ("ExternalAttemptID", "ParticipantID", "AssessmentID", "LockRequired", "LockStatus", "Disabled"):
            dup[name].set_from_value(attempt[name].value)
        with pytest.raises(edm.ConstraintError, match="ExternalAttemptID 'Heathrow/2026-12-01T21:00:00'"):
            attempts.insert_entity(dup)
        # a bad $filter: Pyslet's feed reader reports the status only, so the same request's m:error body is
        # read with Pyslet's own document parser
        attempts.set_filter(core.CommonExpression.from_str("Nope eq 1"))
        with pytest.raises(c_module.UnexpectedHTTPResponse, match="400"):
            list(attempts.itervalues())
    response = _raw(served, "Attempts?$filter=Nope%20eq%201")
    doc = core.Document(base_uri=served.root)
    doc.read(response.content)
    assert isinstance(doc.root, core.Error), response.text
    assert "Could not find a property named 'Nope'" in doc.root.Message.get_value()


def test_pages_through_250_participants_with_inlinecount(pyslet: Any, served: Served) -> None:
    c = _client(pyslet, served)
    with c.feeds["Participants"].open() as participants:
        ids = [p["ID"].value for p in participants.itervalues()]  # follows the next links, 100 a page
    assert len(ids) == 250 == len(set(ids))
    # $inlinecount is not in Pyslet's client API: the same Atom request, read with Pyslet's document parser
    from pyslet.odata2 import core  # type: ignore[import-not-found, import-untyped]
    response = _raw(served, "Participants?$inlinecount=allpages&$top=120&$skip=100")
    assert response.status_code == 200 and response.headers["DataServiceVersion"] == "2.0"
    doc = core.Document(base_uri=served.root)
    doc.read(response.content)
    assert doc.root.Count is not None and int(doc.root.Count.get_value()) == 250
    assert len(doc.root.Entry) == 100
    nxt = [link.href for link in doc.root.Link if link.rel == "next"]
    assert nxt and "$skip=200" in str(nxt[0]) and "$top=20" in str(nxt[0])
    assert not check_atom(_csdl(served), etree.fromstring(response.content))


def _csdl(served: Served) -> Any:
    from contracts.odata.csdl import parse
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    return parse(requests.get(served.root + "$metadata", headers={"Authorization": f"Basic {token}"},
                              timeout=30).text)
