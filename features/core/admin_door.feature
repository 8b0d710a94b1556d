@examrig
Feature: The admin door every mock shares, shown on the tds mock
  Tenancy, reset, the clock, faults and the journal behave the same on every mock;
  these scenarios use tds as the carrier.

  @req_CORE-TEN-001
  Scenario: Two tenants with the same opportunity key never see each other's data
    Given a TDS opportunity "3a2b3c4d-0000-4000-8000-000000000001" in status "submitted"
    And in another tenant a TDS opportunity "3a2b3c4d-0000-4000-8000-000000000001" in status "started"
    When I POST to tds "/student/TIS/API/tisReply" with JSON:
      """
      {"oppKey": "3a2b3c4d-0000-4000-8000-000000000001", "success": true}
      """
    Then the TDS opportunity "3a2b3c4d-0000-4000-8000-000000000001" has status "reported"
    And in the other tenant the TDS opportunity "3a2b3c4d-0000-4000-8000-000000000001" has status "started"

  @harness @req_CORE-TEN-002
  Scenario: Resetting one tenant leaves the others alone
    Given a TDS opportunity "3a2b3c4d-0000-4000-8000-000000000002" in status "submitted"
    And in another tenant a TDS opportunity "3a2b3c4d-0000-4000-8000-000000000002" in status "submitted"
    When the tds mock is reset for this tenant
    Then the TDS opportunity "3a2b3c4d-0000-4000-8000-000000000002" does not exist
    And in the other tenant the TDS opportunity "3a2b3c4d-0000-4000-8000-000000000002" has status "submitted"

  @harness @req_CORE-FLT-001 @req_CORE-JRN-001
  Scenario: An injected status fault answers in place of the service and is journaled
    Given a TDS opportunity "3a2b3c4d-0000-4000-8000-000000000003" in status "submitted"
    And the tds mock answers route "tisReply" with status 503 once
    When I POST to tds "/student/TIS/API/tisReply" with JSON:
      """
      {"oppKey": "3a2b3c4d-0000-4000-8000-000000000003", "success": true}
      """
    Then the response status is 503
    And the TDS opportunity "3a2b3c4d-0000-4000-8000-000000000003" has status "submitted"
    And the tds journal shows 1 inbound request to "/student/TIS/API/tisReply" answered 503
    And the last tds journal entry records a "status" fault

  @harness @req_CORE-JRN-002
  Scenario: A journal check over a window that lost entries is an error, not a verdict
    Given the tds journal keeps only 5 entries
    When I send 8 replies for unknown opportunities to tds
    Then a tds journal check for 8 inbound requests since the first reports "journal_overflow"

  @req_CORE-CLK-001
  Scenario: A frozen clock dates the audit trail exactly, for this tenant only
    Given a TDS opportunity "3a2b3c4d-0000-4000-8000-000000000005" in status "submitted"
    And the tds clock is frozen at "2026-05-01T10:00:00Z"
    And the tds clock is advanced by 90 seconds
    When I POST to tds "/student/TIS/API/tisReply" with JSON:
      """
      {"oppKey": "3a2b3c4d-0000-4000-8000-000000000005", "success": true}
      """
    Then the TDS opportunity "3a2b3c4d-0000-4000-8000-000000000005" was audited at "2026-05-01T10:01:30.000Z"
    And in the other tenant the tds clock is not frozen

  @harness @req_CORE-BODY-001
  Scenario: A body over the limit is refused with 413 in the service's own error format
    When I POST a body of 11 MiB to tds "/student/TIS/API/tisReply"
    Then the response status is 413
    And the response JSON field "status" is "413"
