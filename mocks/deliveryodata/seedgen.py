"""Seed data made with faker, deterministic by seed, written with the entities' OData property names."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from faker import Faker

from mocks.deliveryodata.models import SeedError

LANGUAGES = ("en-US", "en-GB", "fr-FR", "de-DE", "es-ES", "nl-NL")
COUNTS = ("participants", "assessments", "testCenters", "monitoringTypes")


# fixed bounds: relative ones ("-3y", "-1d") follow the wall clock, so the same seed gave other instants a
# second later (seen with the corpus spread over two processes)
REGISTERED = (datetime(2023, 3, 1), datetime(2026, 2, 28))


def generate(spec: Any) -> dict[str, list[dict[str, Any]]]:
    """``{"seed": n, "participants": k, ...}`` as seed collections; the same spec gives the same data."""
    if not isinstance(spec, dict):
        raise SeedError("generate", "must be an object of counts and a seed")
    unknown = set(spec) - {"seed", *COUNTS}
    if unknown:
        raise SeedError(sorted(unknown)[0], "unknown property")
    for name in ("seed", *COUNTS):
        value = spec.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > 100_000:
            raise SeedError(name, "must be an integer from 0 to 100000")
    seed = int(spec.get("seed", 0))
    fake = Faker()
    fake.seed_instance(seed)
    rng = random.Random(seed)
    participants = []
    for i in range(spec.get("participants", 0)):
        first, last = fake.first_name(), fake.last_name()
        participants.append({
            "ID": 100_000_000 + rng.randrange(1, 900_000_000) // 1000 * 1000 + i, "Name": f"{first}.{last}{i}".lower(),
            "FirstName": first, "LastName": last, "PrimaryEmail": fake.email(), "Details1": fake.company(),
            "Details2": fake.city(), "Details3": fake.country_code(), "PreferredLang": rng.choice(LANGUAGES),
            "Blocked": False, "RegistrationDateTime": fake.date_time_between(*REGISTERED).isoformat() + "Z"})
    assessments = []
    for i in range(spec.get("assessments", 0)):
        mid = rng.randrange(1000, 9999_9999)
        langs = sorted(rng.sample(LANGUAGES, rng.randint(1, 3)))
        assessments.append({
            "ID": str(mid * 100_000_000 + mid % 100_000_000 + i), "Revision": rng.randint(1, 9),
            "Name": fake.catch_phrase(), "Language": ",".join(langs), "Description": fake.sentence(),
            "Author": fake.name(), "TimeLimit": rng.choice([None, 30, 60, 90, 120]), "IsSecure": rng.random() < 0.3,
            "SaveAnswers": True})
    centers = [{"ID": 1 + i, "Name": f"{fake.city()} Test Centre"} for i in range(spec.get("testCenters", 0))]
    kinds = ("UNMONITORED", "PROCTORED", "QSB_WITH_EVENTS", "REMOTE_PROCTORED")
    monitoring = [{"ID": 1 + i, "Name": kinds[i % len(kinds)] + ("" if i < len(kinds) else f"_{i}"),
                   "RequireQSB": kinds[i % len(kinds)] == "QSB_WITH_EVENTS", "RequireDeviceEvents": i % 2 == 0,
                   "SystemCheckUrl": rng.choice([None, "about:blank", fake.url()]), "RequireTestCenter": False,
                   "Disabled": False} for i in range(spec.get("monitoringTypes", 0))]
    out: dict[str, list[dict[str, Any]]] = {"participants": participants, "assessments": assessments,
                                            "testCenters": centers, "monitoringTypes": monitoring}
    return {k: v for k, v in out.items() if v}
