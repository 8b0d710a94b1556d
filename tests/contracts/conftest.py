"""Fixtures for the contracts tests: the official third-party schemas and valid base documents."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lxml import etree

# Official schema (in ../shared/data/tis/xsd) that each of our profiles must agree with.
OFFICIAL_XSD = {
    "trt": "test-results-transmission.SupportTool.xsd",
    "trt-strict": "TestResultsTransmissionFormat_Schema.ERT.xsd",
    "thss-upload": "reportxml_os.THSS-App_Data.ItemScoreRequest.xsd",
    "testpackage": "v4-test-package.TIS.xsd",
}


@pytest.fixture(scope="session")
def official(shared_data: Path) -> dict[str, Any]:
    """Compiled official schemas by examrig profile name."""
    return {
        name: etree.XMLSchema(etree.parse(str(shared_data / "tis" / "xsd" / file)))
        for name, file in OFFICIAL_XSD.items()
    }


@pytest.fixture(scope="session")
def real_trts(shared_data: Path) -> dict[str, bytes]:
    """Every real TRT sample, by file name."""
    return {p.name: p.read_bytes() for p in sorted((shared_data / "tis" / "trt").glob("*.xml"))}
