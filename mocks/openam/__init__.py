"""OpenAM's OAuth2 endpoints: token issue, token info and revocation for TIS, THSS and the DW."""
