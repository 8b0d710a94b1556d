"""TIS configuration: service options, overridable per tenant (the ItemScoring and target settings of App.config)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

DEFAULTS: dict[str, Any] = {
    # general targets (DW1, DW2, ...): URLs; "peer:<name>/path" resolves through the topology
    "dw_urls": ["peer:dw/exams/imports"],
    # the v4 default project also posts a TRT that goes to THSS in the same pass (status handscoring)
    "dw_send_handscoring": True,
    "thss_url": "peer:thss/api/test/submit",
    "daemon_callback": "peer:tis/ItemScoringCallbackRcv.axd",
    "handscoring_item_types": "ER;SA;WER",
    "handscoring_score_statuses": "NotScored",
    # "code" (the shipped behaviour) or "guide" (the API guide's ack: no trt, unswapped messages)
    "ack_profile": "code",
    "oauth": False,
    "tokeninfo_url": "peer:openam/auth/oauth2/tokeninfo",
    # outbound OAuth (password grant at OpenAM) for THSS and the DWs; empty: no Authorization header.
    # The default is the openam mock's built-in loader account, so `examrig serve` works end to end
    # (the dw mock's /exams/imports requires ASMTDATALOAD, as RDW does).
    "outbound_auth": {"url": "peer:openam/", "realm": "/sbac", "username": "dw-loader@example.org",
                      "password": "password", "client_id": "examrig", "client_secret": "examrig-secret"},
}


class ConfigError(ValueError):
    """A configuration value of the wrong type; ``field`` names it."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class TisConfig:
    """The effective configuration of one tenant."""

    dw_urls: tuple[str, ...]
    dw_send_handscoring: bool
    thss_url: str
    daemon_callback: str
    handscoring_item_types: str
    handscoring_score_statuses: str
    ack_profile: str
    oauth: bool
    tokeninfo_url: str
    outbound_auth: dict[str, str]

    def hand_scored(self, item_format: str, bank_key: str, score_status: str) -> bool:
        """Whether an item matches the hand-scoring target's status and type rules (README ItemScoringSettings)."""
        statuses = {s.strip().lower() for s in self.handscoring_score_statuses.split(",") if s.strip()}
        if score_status.lower() not in statuses:
            return False
        for spec in self.handscoring_item_types.split(";"):
            parts = spec.split(":")
            if parts[0].strip() != item_format:  # the type match is case-sensitive
                continue
            if len(parts) == 1:
                return True
            keys = {k.strip() for k in parts[1].split(",") if k.strip()}
            excluded = len(parts) > 2 and parts[2].strip().lower() == "true"
            return (bank_key not in keys) if excluded else (bank_key in keys)
        return False


def build(options: dict[str, Any], override: dict[str, Any] | None = None) -> TisConfig:
    """Defaults, then the service options, then the tenant's override; raises :class:`ConfigError`."""
    merged = dict(DEFAULTS)
    for source in (options, override or {}):
        for key, value in source.items():
            if key in DEFAULTS:
                merged[key] = value
    return validate(merged)


def validate(values: dict[str, Any]) -> TisConfig:
    """Check types; raises :class:`ConfigError` naming the field."""
    unknown = set(values) - set(DEFAULTS)
    if unknown:
        raise ConfigError(sorted(unknown)[0], "unknown TIS setting")
    urls = values["dw_urls"]
    if not isinstance(urls, list | tuple) or not all(isinstance(u, str) for u in urls):
        raise ConfigError("dw_urls", "must be a list of URL strings")
    for name in ("dw_send_handscoring", "oauth"):
        if not isinstance(values[name], bool):
            raise ConfigError(name, "must be a boolean")
    for name in ("thss_url", "daemon_callback", "handscoring_item_types", "handscoring_score_statuses",
                 "tokeninfo_url"):
        if not isinstance(values[name], str):
            raise ConfigError(name, "must be a string")
    if values["ack_profile"] not in ("code", "guide"):
        raise ConfigError("ack_profile", "must be 'code' or 'guide'")
    auth = values["outbound_auth"]
    if not isinstance(auth, dict) or not all(isinstance(v, str) for v in auth.values()):
        raise ConfigError("outbound_auth", "must be an object of strings")
    data = dict(values)
    data["dw_urls"] = tuple(urls)
    return TisConfig(**{f.name: data[f.name] for f in fields(TisConfig)})
