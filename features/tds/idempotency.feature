@cap_tds.idempotency_key
Feature: TDS applies each TIS acknowledgement once per Idempotency-Key
  examrig's extension, not real TDS's: TIS sends every delivery with Idempotency-Key, the same key on
  every resend of it (after a crash too). The tds mock keeps the key with its answer, in the
  transaction of the effect, and answers a repeat from that record without applying it again.
  A key first used for a different request is refused with 409 naming the header.

  @req_TDS-IDEM-001
  Scenario Outline: A repeated acknowledgement with the same key is answered from the ledger and applied once
    Given a TDS opportunity "6c1d2e3f-4a5b-4c6d-8e7f-001122334455" in status "submitted"
    When TIS sends to tds "<path>" with idempotency key "tis-demo-1" the JSON:
      """
      {"oppKey": "6c1d2e3f-4a5b-4c6d-8e7f-001122334455", "success": true}
      """
    Then the response status is 200
    When TIS sends to tds "<path>" with idempotency key "tis-demo-1" the JSON:
      """
      {"oppKey": "6c1d2e3f-4a5b-4c6d-8e7f-001122334455", "success": true}
      """
    Then the response status is 200
    And the response is marked as a replay
    And the keyed responses are identical
    And the TDS opportunity "6c1d2e3f-4a5b-4c6d-8e7f-001122334455" has status "reported"
    And the TDS opportunity "6c1d2e3f-4a5b-4c6d-8e7f-001122334455" has exactly the audit rows "<audit>"

    Examples:
      | path                       | audit              |
      | /student/TIS/API/tisReply  | reported           |
      | /tis                       | processed,reported |

  @req_TDS-IDEM-001
  Scenario: Another key is another delivery: the same acknowledgement is applied again
    Given a TDS opportunity "6c1d2e3f-4a5b-4c6d-8e7f-001122334456" in status "submitted"
    When TIS sends to tds "/student/TIS/API/tisReply" with idempotency key "tis-demo-1" the JSON:
      """
      {"oppKey": "6c1d2e3f-4a5b-4c6d-8e7f-001122334456", "success": true}
      """
    And TIS sends to tds "/student/TIS/API/tisReply" with idempotency key "tis-demo-2" the JSON:
      """
      {"oppKey": "6c1d2e3f-4a5b-4c6d-8e7f-001122334456", "success": true}
      """
    Then the response status is 200
    And the TDS opportunity "6c1d2e3f-4a5b-4c6d-8e7f-001122334456" has exactly the audit rows "reported,QA Reported"

  @req_TDS-IDEM-001 @examrig
  Scenario: examrig's tds mock journals a replayed acknowledgement as a replay, and a new key as none
    Given a TDS opportunity "6c1d2e3f-4a5b-4c6d-8e7f-001122334459" in status "submitted"
    When TIS sends to tds "/student/TIS/API/tisReply" with idempotency key "tis-demo-1" the JSON:
      """
      {"oppKey": "6c1d2e3f-4a5b-4c6d-8e7f-001122334459", "success": true}
      """
    And TIS sends to tds "/student/TIS/API/tisReply" with idempotency key "tis-demo-1" the JSON:
      """
      {"oppKey": "6c1d2e3f-4a5b-4c6d-8e7f-001122334459", "success": true}
      """
    And TIS sends to tds "/student/TIS/API/tisReply" with idempotency key "tis-demo-2" the JSON:
      """
      {"oppKey": "6c1d2e3f-4a5b-4c6d-8e7f-001122334459", "success": true}
      """
    Then the response status is 200
    And the tds journal notes 1 replay of idempotency key "tis-demo-1"
    And the tds journal notes 0 replay of idempotency key "tis-demo-2"

  @req_TDS-IDEM-002
  Scenario: A key reused with a different body is refused with 409 naming the header, and nothing is applied
    Given a TDS opportunity "6c1d2e3f-4a5b-4c6d-8e7f-001122334457" in status "submitted"
    When TIS sends to tds "/student/TIS/API/tisReply" with idempotency key "tis-demo-1" the JSON:
      """
      {"oppKey": "6c1d2e3f-4a5b-4c6d-8e7f-001122334457", "success": false, "error": "failed validation"}
      """
    Then the response status is 200
    When TIS sends to tds "/student/TIS/API/tisReply" with idempotency key "tis-demo-1" the JSON:
      """
      {"oppKey": "6c1d2e3f-4a5b-4c6d-8e7f-001122334457", "success": true}
      """
    Then the response status is 409
    And the response JSON field "field" is "Idempotency-Key"
    And the response JSON field "message" contains "Idempotency-Key 'tis-demo-1' was already used for a different request"
    And the TDS opportunity "6c1d2e3f-4a5b-4c6d-8e7f-001122334457" has status "submitted"
    And the TDS opportunity "6c1d2e3f-4a5b-4c6d-8e7f-001122334457" has exactly the audit rows "rejected"

  @req_TDS-IDEM-002
  Scenario: A key that is not printable ASCII is refused with 400 naming the header, and nothing is applied
    Given a TDS opportunity "6c1d2e3f-4a5b-4c6d-8e7f-001122334458" in status "submitted"
    When TIS sends to tds "/student/TIS/API/tisReply" with idempotency key "tis-dé" the JSON:
      """
      {"oppKey": "6c1d2e3f-4a5b-4c6d-8e7f-001122334458", "success": true}
      """
    Then the response status is 400
    And the response JSON field "field" is "Idempotency-Key"
    And the TDS opportunity "6c1d2e3f-4a5b-4c6d-8e7f-001122334458" has status "submitted"
