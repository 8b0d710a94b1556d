Feature: The newer TDS (ExamResultsTransmitter) receives TIS's acknowledgement on /tis
  ERT reads {"oppKey","success","error","trt"} as TISState (a missing success is false)
  and always answers 200; only a clean success moves a submitted exam to reported.

  @req_TDS-ERT-001 @state_hook
  Scenario: A clean success reports a submitted exam
    Given a TDS opportunity "2a2b3c4d-0000-4000-8000-000000000001" in status "submitted"
    When I POST to tds "/tis" with JSON:
      """
      {"oppKey": "2a2b3c4d-0000-4000-8000-000000000001", "success": true, "trt": null}
      """
    Then the response status is 200
    And the TDS opportunity "2a2b3c4d-0000-4000-8000-000000000001" has status "reported"

  @req_TDS-ERT-002 @state_hook
  Scenario Outline: A reply with an error, or without success, changes nothing
    Given a TDS opportunity "2a2b3c4d-0000-4000-8000-000000000002" in status "submitted"
    When I POST to tds "/tis" with JSON:
      """
      <body>
      """
    Then the response status is 200
    And the TDS opportunity "2a2b3c4d-0000-4000-8000-000000000002" has status "submitted"
    And the TDS opportunity "2a2b3c4d-0000-4000-8000-000000000002" has an audit row "processed"

    Examples:
      | body                                                                                            |
      | {"oppKey": "2a2b3c4d-0000-4000-8000-000000000002", "success": true, "error": "Failed rules validation"} |
      | {"oppKey": "2a2b3c4d-0000-4000-8000-000000000002", "success": false}                           |
      | {"oppKey": "2a2b3c4d-0000-4000-8000-000000000002"}                                             |

  @req_TDS-ERT-003 @state_hook
  Scenario: A clean success for an exam that is not submitted is a refused transition
    Given a TDS opportunity "2a2b3c4d-0000-4000-8000-000000000003" in status "started"
    When I POST to tds "/tis" with JSON:
      """
      {"oppKey": "2a2b3c4d-0000-4000-8000-000000000003", "success": true}
      """
    Then the response status is 200
    And the TDS opportunity "2a2b3c4d-0000-4000-8000-000000000003" has status "started"
    And the TDS error log has an entry for opportunity "2a2b3c4d-0000-4000-8000-000000000003"

  @req_TDS-ERT-004 @state_hook
  Scenario: A rescore reply with jobid and trt is recorded without a status change
    Given a TDS opportunity "2a2b3c4d-0000-4000-8000-000000000004" in status "reported"
    When I POST to tds "/tis?jobid=job-17" with JSON:
      """
      {"oppKey": "2a2b3c4d-0000-4000-8000-000000000004", "success": true, "trt": "<TDSReport/>"}
      """
    Then the response status is 200
    And the TDS opportunity "2a2b3c4d-0000-4000-8000-000000000004" has status "reported"
    And the TDS opportunity "2a2b3c4d-0000-4000-8000-000000000004" has no audit rows

  @req_TDS-ERT-004 @state_hook
  Scenario: A rescore reply with a trt but no jobid is logged and ignored
    Given a TDS opportunity "2a2b3c4d-0000-4000-8000-000000000005" in status "submitted"
    When I POST to tds "/tis" with JSON:
      """
      {"oppKey": "2a2b3c4d-0000-4000-8000-000000000005", "success": true, "trt": "<TDSReport/>"}
      """
    Then the response status is 200
    And the TDS opportunity "2a2b3c4d-0000-4000-8000-000000000005" has status "submitted"
    And the TDS error log has an entry for opportunity "2a2b3c4d-0000-4000-8000-000000000005"

  @req_TDS-CONV-002 @examrig @state_hook
  Scenario: examrig's error log entries for /tis have the procedures' wording
    Given a TDS opportunity "2a2b3c4d-0000-4000-8000-000000000006" in status "started"
    And a TDS opportunity "2a2b3c4d-0000-4000-8000-000000000007" in status "submitted"
    When I POST to tds "/tis" with JSON:
      """
      {"oppKey": "2a2b3c4d-0000-4000-8000-000000000006", "success": true}
      """
    And I POST to tds "/tis" with JSON:
      """
      {"oppKey": "2a2b3c4d-0000-4000-8000-000000000007", "success": true, "trt": "<TDSReport/>"}
      """
    Then the response status is 200
    And the TDS error log mentions "Bad status transition from started to reported"
    And the TDS error log mentions "without jobid"
