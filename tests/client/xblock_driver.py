"""Drive the published proctoru-xblock 1.0.0 API client through its learner flow, as an integrator's smoke test.

Run under ``examrig check --client proctoru --tls -- python tests/client/xblock_driver.py XBLOCK_DIR``:
XBLOCK_DIR holds the package as ``pip install --no-deps --target`` left it; the mock's URL comes in
``EXAMRIG_URL_PROCTORU`` (https: the client builds https:// URLs) and its certificate in REQUESTS_CA_BUNDLE.
Only ``django.contrib.auth.models`` and ``proctoru.models`` are stood in for (tests/proctoru/xblock_stubs.py),
as in tests/proctoru/test_xblock_interop.py. The flow: time zones, slots, a booking, the reservation list, a begin
before the window opens, a reschedule, the begin with the fresh reservation_id the xBlock stores after a
reschedule (its known bug), then the begin with the kept id. Exits non-zero when an answer is not the one the
flow expects, so the check cannot judge a flow that went elsewhere.
"""

from __future__ import annotations

import importlib
import os
import sys
import types
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def main(xblock_dir: str) -> int:
    sys.path.insert(0, str(ROOT))
    from django.conf import settings

    from mocks.proctoru.models import DEFAULT_TOKEN
    from tests.proctoru import xblock_stubs
    from tests.proctoru.test_xblock_interop import _student_data

    url = os.environ["EXAMRIG_URL_PROCTORU"]
    if not url.startswith("https://"):
        print(f"the xBlock speaks https only; got {url} (run the check with --tls)", file=sys.stderr)
        return 2
    settings.configure(PROCTORU_TOKEN=DEFAULT_TOKEN, PROCTORU_API=url.removeprefix("https://"))
    package = types.ModuleType("proctoru")
    package.__path__ = [str(Path(xblock_dir) / "proctoru")]
    sys.modules["proctoru"] = package
    sys.modules.update(xblock_stubs.modules())
    api: Any = importlib.import_module("proctoru.api").ProctoruAPI()

    user = xblock_stubs.make_user(77, "grace", "Grace Hopper", "grace@example.org")
    expect(api.get_time_zones()["response_code"] == 1, "getTimeZoneList")
    now = datetime.now(UTC)
    listing = api.get_schedule_info_avl_timeslist({
        "time_sent": now.replace(tzinfo=None).isoformat(), "duration": 30, "time_zone_id": "Romance Standard Time",
        "start_date": now.replace(minute=0, second=0, microsecond=0).isoformat(), "takeitnow": "N", "isadhoc": "Y"})
    slots = [s["local_start_date"] for s in listing["data"]]
    soon, later = slots[0], slots[8]
    first_id = "c" * 40
    booked = api.add_adhoc_process(_student_data(user, later, first_id))
    expect(booked["response_code"] == 1, f"addAdHocProcess: {booked}")
    number = booked["data"]["reservation_no"]
    expect(bool(api.get_student_reservation_list(user.id)), "getStudentReservationList")
    expect(api.begin_reservation(user.id, first_id, number)["response_code"] == 2, "early begin refused")
    moved = api.add_adhoc_process(_student_data(user, soon, first_id, reservation_no=number))
    expect(moved["response_code"] == 1, f"reschedule: {moved}")
    # what the xBlock's reschedule handler then stores and sends: a fresh random reservation_id
    expect(api.begin_reservation(user.id, "d" * 40, number)["response_code"] == 2, "begin with the fresh id")
    expect(api.begin_reservation(user.id, first_id, number)["response_code"] == 1, "begin with the kept id")
    return 0


def expect(ok: bool, what: str) -> None:
    if not ok:
        raise SystemExit(f"xblock flow: unexpected answer at {what}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
