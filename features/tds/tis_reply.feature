Feature: Legacy TDS receives TIS's acknowledgement on /student/TIS/API/tisReply
  TIS posts {"oppKey","success","error","trt"} to the statusCallback URL at the end of
  every processing pass. Legacy TDS applies it with handleTISReply and
  QC_AcceptOpportunity_SP and answers 200 whatever happened.

  @req_TDS-REPLY-001 @req_TDS-REPLY-011 @state_hook
  Scenario: A success reply reports a submitted opportunity
    Given a TDS opportunity "aa19a641-c782-4426-8586-e7d77edf2d02" in status "submitted"
    When I POST to tds "/student/TIS/API/tisReply" with JSON:
      """
      {"oppKey": "AA19A641-C782-4426-8586-E7D77EDF2D02", "success": true, "trt": null}
      """
    Then the response status is 200
    And the response body is empty
    And the TDS opportunity "aa19a641-c782-4426-8586-e7d77edf2d02" has status "reported"
    And the TDS opportunity "aa19a641-c782-4426-8586-e7d77edf2d02" has an audit row "reported"

  @req_TDS-JRN-001 @examrig @state_hook
  Scenario: examrig's tds mock journals every acknowledgement it receives
    Given a TDS opportunity "aa19a641-c782-4426-8586-e7d77edf2d03" in status "submitted"
    When I POST to tds "/student/TIS/API/tisReply" with JSON:
      """
      {"oppKey": "aa19a641-c782-4426-8586-e7d77edf2d03", "success": true, "trt": null}
      """
    Then the response status is 200
    And the tds journal shows 1 inbound request to "/student/TIS/API/tisReply" answered 200

  @req_TDS-REPLY-002 @req_TDS-REPLY-011 @state_hook
  Scenario: A failure reply is audited as rejected and changes nothing
    Given a TDS opportunity "0b0c0d0e-1111-4222-8333-944455556666" in status "submitted"
    When I POST to tds "/student/TIS/API/tisReply" with JSON:
      """
      {"oppKey": "0b0c0d0e-1111-4222-8333-944455556666", "success": false, "error": "failed validation", "trt": null}
      """
    Then the response status is 200
    And the TDS opportunity "0b0c0d0e-1111-4222-8333-944455556666" has status "submitted"
    And the TDS opportunity "0b0c0d0e-1111-4222-8333-944455556666" has an audit row "rejected" with comment "failed validation"

  @req_TDS-REPLY-012 @state_hook
  Scenario: A success reply for an expired opportunity records that it was reported
    Given a TDS opportunity "1a2b3c4d-0000-4000-8000-000000000012" in status "expired"
    When I POST to tds "/student/TIS/API/tisReply" with JSON:
      """
      {"oppKey": "1a2b3c4d-0000-4000-8000-000000000012", "success": true}
      """
    Then the response status is 200
    And the TDS opportunity "1a2b3c4d-0000-4000-8000-000000000012" has a dateExpiredReported
    And the TDS opportunity "1a2b3c4d-0000-4000-8000-000000000012" has an audit row "expiredReported"

  @req_TDS-REPLY-003 @state_hook
  Scenario: A success reply for an expired opportunity marks it expiredReported
    Given a TDS opportunity "1a2b3c4d-0000-4000-8000-000000000003" in status "expired"
    When I POST to tds "/student/TIS/API/tisReply" with JSON:
      """
      {"oppKey": "1a2b3c4d-0000-4000-8000-000000000003", "success": true}
      """
    Then the response status is 200
    And the TDS opportunity "1a2b3c4d-0000-4000-8000-000000000003" has status "expiredReported"

  @req_TDS-REPLY-004 @state_hook
  Scenario Outline: A success reply in any other status is audited as QA Reported without a status change
    Given a TDS opportunity "1a2b3c4d-0000-4000-8000-000000000004" in status "<status>"
    When I POST to tds "/student/TIS/API/tisReply" with JSON:
      """
      {"oppKey": "1a2b3c4d-0000-4000-8000-000000000004", "success": true}
      """
    Then the response status is 200
    And the TDS opportunity "1a2b3c4d-0000-4000-8000-000000000004" has status "<status>"
    And the TDS opportunity "1a2b3c4d-0000-4000-8000-000000000004" has an audit row "QA Reported"

    Examples:
      | status    |
      | reported  |
      | started   |
      | completed |
      | pending   |

  @req_TDS-REPLY-005 @req_TDS-REPLY-011 @state_hook
  Scenario: A reply for an unknown opportunity is logged and answered 200
    When I POST to tds "/student/TIS/API/tisReply" with JSON:
      """
      {"oppKey": "99999999-9999-4999-8999-999999999999", "success": true}
      """
    Then the response status is 200
    And the response body is empty
    And the TDS error log has an entry for opportunity "99999999-9999-4999-8999-999999999999"

  @req_TDS-CONV-002 @examrig @state_hook
  Scenario: The error log entry for an unknown opportunity has the procedure's wording
    When I POST to tds "/student/TIS/API/tisReply" with JSON:
      """
      {"oppKey": "99999999-9999-4999-8999-999999999998", "success": true}
      """
    Then the response status is 200
    And the TDS error log mentions "No test opportunity matches this key: 99999999-9999-4999-8999-999999999998"

  @req_TDS-REPLY-006
  Scenario: An oppKey that is not a UUID is refused
    When I POST to tds "/student/TIS/API/tisReply" with JSON:
      """
      {"oppKey": "not-a-guid", "success": true}
      """
    Then the response status is 400

  @req_TDS-REPLY-007
  Scenario Outline: A missing or non-string oppKey is refused
    When I POST to tds "/student/TIS/API/tisReply" with JSON:
      """
      <body>
      """
    Then the response status is 400

    Examples:
      | body                                   |
      | {"success": true}                      |
      | {"oppKey": null, "success": true}      |
      | {"oppKey": 42, "success": true}        |
      | {"oppKey": ["x"], "success": true}     |

  @req_TDS-REPLY-008 @state_hook
  Scenario Outline: A missing or non-boolean success is refused and changes nothing
    Given a TDS opportunity "1a2b3c4d-0000-4000-8000-000000000008" in status "submitted"
    When I POST to tds "/student/TIS/API/tisReply" with JSON:
      """
      <body>
      """
    Then the response status is 400
    And the TDS opportunity "1a2b3c4d-0000-4000-8000-000000000008" has status "submitted"
    And the TDS opportunity "1a2b3c4d-0000-4000-8000-000000000008" has no audit rows

    Examples:
      | body                                                                  |
      | {"oppKey": "1a2b3c4d-0000-4000-8000-000000000008"}                    |
      | {"oppKey": "1a2b3c4d-0000-4000-8000-000000000008", "success": "true"} |
      | {"oppKey": "1a2b3c4d-0000-4000-8000-000000000008", "success": 1}      |

  @req_TDS-REPLY-009
  Scenario: A body that is not JSON is refused
    When I POST to tds "/student/TIS/API/tisReply" with content type "application/json" and body:
      """
      {"oppKey": "1a2b3c4d-0000-4000-8000-000000000009", "success": tru
      """
    Then the response status is 400

  @req_TDS-REPLY-009
  Scenario: A JSON value that is not an object is refused
    When I POST to tds "/student/TIS/API/tisReply" with content type "application/json" and body:
      """
      ["1a2b3c4d-0000-4000-8000-000000000009", true]
      """
    Then the response status is 400

  @req_TDS-REPLY-009
  Scenario: An empty body is refused
    When I POST to tds "/student/TIS/API/tisReply" with content type "application/json" and no body
    Then the response status is 400

  @req_TDS-REPLY-010
  Scenario Outline: A body of another content type is refused with 415
    When I POST to tds "/student/TIS/API/tisReply" with content type "<content_type>" and body:
      """
      {"oppKey": "1a2b3c4d-0000-4000-8000-000000000010", "success": true}
      """
    Then the response status is 415

    Examples:
      | content_type                      |
      | text/plain                        |
      | application/x-www-form-urlencoded |
      | application/xml                   |

  # examrig's conventions on the refusals above: Spring's wording, and the field key naming the input.
  @req_TDS-CONV-001 @examrig
  Scenario Outline: examrig's refusal names the offending input in the field key
    When I POST to tds "/student/TIS/API/tisReply" with content type "<content_type>" and body:
      """
      <body>
      """
    Then the response status is <status>
    And the response JSON field "field" is "<field>"
    And the response JSON field "status" is "<status>"

    Examples:
      | content_type     | body                                                                  | status | field        |
      | application/json | {"oppKey": "not-a-guid", "success": true}                             | 400    | oppKey       |
      | application/json | {"success": true}                                                     | 400    | oppKey       |
      | application/json | {"oppKey": 42, "success": true}                                       | 400    | oppKey       |
      | application/json | {"oppKey": "1a2b3c4d-0000-4000-8000-000000000008"}                    | 400    | success      |
      | application/json | {"oppKey": "1a2b3c4d-0000-4000-8000-000000000008", "success": 1}      | 400    | success      |
      | application/json | ["1a2b3c4d-0000-4000-8000-000000000009", true]                        | 400    | body         |
      | text/plain       | {"oppKey": "1a2b3c4d-0000-4000-8000-000000000010", "success": true}   | 415    | Content-Type |

  @req_TDS-CONV-001 @examrig
  Scenario: examrig's refusal of a body that is not JSON has Spring's wording
    When I POST to tds "/student/TIS/API/tisReply" with content type "application/json" and body:
      """
      {"oppKey": "1a2b3c4d-0000-4000-8000-000000000009", "success": tru
      """
    Then the response status is 400
    And the response JSON field "message" contains "JSON parse error"

  @req_TDS-CONV-001 @examrig
  Scenario: examrig's refusal of an empty body has Spring's wording
    When I POST to tds "/student/TIS/API/tisReply" with content type "application/json" and no body
    Then the response status is 400
    And the response JSON field "message" is "Required request body is missing"
