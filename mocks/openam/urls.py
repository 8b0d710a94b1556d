"""OpenAM routes."""

from __future__ import annotations

from werkzeug.routing import Rule

from mocks.core.app import View
from mocks.openam import views

ROUTES: list[tuple[Rule, View]] = [
    (Rule("/auth/oauth2/access_token", endpoint="accessToken", methods=["POST"]), views.access_token),
    (Rule("/auth/oauth2/tokeninfo", endpoint="tokeninfo", methods=["GET"]), views.tokeninfo),
    (Rule("/auth/oauth2/token/revoke", endpoint="revoke", methods=["POST"]), views.revoke),
]
