Feature: THSS scores its work queue and posts each score to the upload's callbackUrl
  Work is scored by a policy per item type (fixed, random within the dimension's range,
  rubric-driven; with a delay on the tenant's clock) or by a teacher through the admin API.
  Each score goes to TIS as a raw ItemScoreResponse labelled as a form post, with THSS's
  JSON context token; a failed post resets the work to tentative and is not retried.

  Background:
    Given the thss item "200-15570" is hand-scored with max score 2
    And a TIS scoring daemon stand-in answering 200

  # the scoring policies are examrig's stand-in for a teacher (THSS-POL-*, kind extension): @examrig
  @req_THSS-POL-001 @req_THSS-CB-001 @req_THSS-CB-002 @examrig
  Scenario: A fixed policy scores the response and THSS posts it as a form post
    Given a thss scoring policy:
      """
      {"itemType": "SA", "kind": "fixed", "score": 1}
      """
    When TIS uploads to thss a TRT for opportunity "11111111-2222-4333-8444-555555555555" with items "200-15570:SA:NOTSCORED"
    And thss runs its due scoring policies
    Then the TIS stand-in received 1 item scores
    And the TIS stand-in received score 1 for item "200-15570" of opportunity "11111111-2222-4333-8444-555555555555"
    And every callback to the TIS stand-in is raw XML labelled as a form post
    And the thss work queue holds "200-15570" in status "sent"

  @req_THSS-POL-002 @examrig
  Scenario: A delayed policy waits for the tenant's clock
    Given the thss clock is frozen at "2024-05-01T08:00:00Z"
    And a thss scoring policy:
      """
      {"itemType": "SA", "kind": "fixed", "score": 2, "delay": 300}
      """
    When TIS uploads to thss a TRT for opportunity "11111111-2222-4333-8444-555555555555" with items "200-15570:SA:NOTSCORED"
    And thss runs its due scoring policies
    Then the TIS stand-in received 0 item scores
    And the thss work queue holds "200-15570" in status "pending"
    When the thss clock advances 300 seconds
    And thss runs its due scoring policies
    Then the TIS stand-in received score 2 for item "200-15570" of opportunity "11111111-2222-4333-8444-555555555555"

  @req_THSS-POL-003
  Scenario: Without a policy the work waits for a teacher
    When TIS uploads to thss a TRT for opportunity "11111111-2222-4333-8444-555555555555" with items "200-15570:SA:NOTSCORED"
    And thss runs its due scoring policies
    Then the TIS stand-in received 0 item scores
    And the thss work queue holds "200-15570" in status "pending"

  @req_THSS-ADM-001 @req_THSS-CB-002 @examrig
  Scenario: The admin API scores a multi-dimension response
    Given the thss item "200-61843" is hand-scored with dimensions "Conventions:0-2,Evidence/Elaboration:0-4,Organization/Purpose:0-4"
    When TIS uploads to thss a TRT for opportunity "11111111-2222-4333-8444-555555555555" with items "200-61843:WER:NOTSCORED"
    And the thss admin scores item "200-61843" with JSON:
      """
      {"scorerId": "teacher-7", "dimensions": [
        {"name": "Conventions", "score": 2},
        {"name": "Evidence/Elaboration", "score": 3},
        {"name": "Organization/Purpose", "score": 4, "conditionCode": "NA"}]}
      """
    Then the response status is 200
    And the response JSON field "status" is "sent"
    And the TIS stand-in received score 9 for item "200-61843" of opportunity "11111111-2222-4333-8444-555555555555"
    And the TIS stand-in received dimension "Evidence/Elaboration" scored 3 read by scorer "teacher-7"

  @req_THSS-ADM-002 @examrig
  Scenario Outline: The admin API refuses a bad score naming the field
    When TIS uploads to thss a TRT for opportunity "11111111-2222-4333-8444-555555555555" with items "200-15570:SA:NOTSCORED"
    And the thss admin scores item "200-15570" with JSON:
      """
      <body>
      """
    Then the response status is 400
    And the response JSON field "error.field" is "<field>"
    And the TIS stand-in received 0 item scores

    Examples:
      | body                                      | field                       |
      | {"score": 3}                              | dimensions[0].score         |
      | {"score": "2"}                            | dimensions[0].score         |
      | {"score": 1, "conditionCode": "Z"}        | dimensions[0].conditionCode |
      | {}                                        | score                       |

  @req_THSS-ADM-002 @examrig
  Scenario: Work already sent cannot be scored again
    When TIS uploads to thss a TRT for opportunity "11111111-2222-4333-8444-555555555555" with items "200-15570:SA:NOTSCORED"
    And the thss admin scores item "200-15570" with JSON:
      """
      {"score": 1}
      """
    And the thss admin scores item "200-15570" with JSON:
      """
      {"score": 2}
      """
    Then the response status is 409
    And the TIS stand-in received 1 item scores

  @req_THSS-CB-003
  Scenario: A callback answered 500 resets the work to tentative and is not retried
    Given a TIS scoring daemon stand-in answering 500
    And a thss scoring policy:
      """
      {"itemType": "SA", "kind": "fixed", "score": 1}
      """
    When TIS uploads to thss a TRT for opportunity "11111111-2222-4333-8444-555555555555" with items "200-15570:SA:NOTSCORED"
    And thss runs its due scoring policies
    And thss runs its due scoring policies
    Then the thss work queue holds "200-15570" in status "tentative"
    And the thss callback log shows 1 failed attempt

  @req_THSS-CB-003
  Scenario: A callback peer that is down resets the work to tentative; a teacher can send it again
    Given the thss callback peer is down
    And a thss scoring policy:
      """
      {"itemType": "SA", "kind": "fixed", "score": 1}
      """
    When TIS uploads to thss a TRT for opportunity "11111111-2222-4333-8444-555555555555" with items "200-15570:SA:NOTSCORED"
    And thss runs its due scoring policies
    Then the thss work queue holds "200-15570" in status "tentative"
    And the thss callback log shows 1 failed attempt

  @req_THSS-GUIDE-001
  Scenario: The guide profile takes the per-item request and echoes its context token
    Given the thss profile is "guide"
    And a thss scoring policy:
      """
      {"itemType": "SA", "kind": "rubric", "default": 0}
      """
    When I send thss a per-item ItemScoreRequest for item "200-15570" with token "opaque-token-1"
    And thss runs its due scoring policies
    Then the response status is 200
    And the TIS stand-in received the guide token "opaque-token-1" with maxScore 2

  @req_THSS-GUIDE-001
  Scenario: The guide profile refuses a per-item request for an unconfigured item
    Given the thss profile is "guide"
    When I send thss a per-item ItemScoreRequest for item "200-4242" with token "t"
    Then the response status is 400

  # examrig's conventions on the scenarios above (the field key ...): claimed by CORE-JRN-001
  @req_CORE-JRN-001 @req_THSS-POL-001 @examrig
  Scenario: examrig's convention: A fixed policy scores the response and THSS posts it as a form post
    Given a thss scoring policy:
      """
      {"itemType": "SA", "kind": "fixed", "score": 1}
      """
    When TIS uploads to thss a TRT for opportunity "11111111-2222-4333-8444-555555555555" with items "200-15570:SA:NOTSCORED"
    And thss runs its due scoring policies
    Then the TIS stand-in received 1 item scores
    And the TIS stand-in received score 1 for item "200-15570" of opportunity "11111111-2222-4333-8444-555555555555"
    And every callback to the TIS stand-in is raw XML labelled as a form post
    And the thss work queue holds "200-15570" in status "sent"
    And the thss journal shows 1 outbound request to "/ItemScoringCallbackRcv.axd" answered 200

  # examrig's wording: the callback log's error texts and the guide profile's refusal (THSS-CONV-001)
  @req_THSS-CONV-001 @examrig
  Scenario: examrig's convention: A callback answered 500 is logged as answered 500
    Given a TIS scoring daemon stand-in answering 500
    And a thss scoring policy:
      """
      {"itemType": "SA", "kind": "fixed", "score": 1}
      """
    When TIS uploads to thss a TRT for opportunity "11111111-2222-4333-8444-555555555555" with items "200-15570:SA:NOTSCORED"
    And thss runs its due scoring policies
    Then the thss work queue holds "200-15570" in status "tentative"
    And the thss callback log shows 1 attempt with error containing "answered 500"

  @req_THSS-CONV-001 @examrig
  Scenario: examrig's convention: A callback peer that is down is logged as a connection reset
    Given the thss callback peer is down
    And a thss scoring policy:
      """
      {"itemType": "SA", "kind": "fixed", "score": 1}
      """
    When TIS uploads to thss a TRT for opportunity "11111111-2222-4333-8444-555555555555" with items "200-15570:SA:NOTSCORED"
    And thss runs its due scoring policies
    Then the thss work queue holds "200-15570" in status "tentative"
    And the thss callback log shows 1 attempt with error containing "connection reset"

  @req_THSS-CONV-001 @examrig
  Scenario: examrig's convention: The guide profile's refusal says the item is not configured
    Given the thss profile is "guide"
    When I send thss a per-item ItemScoreRequest for item "200-4242" with token "t"
    Then the response status is 400
    And the response JSON field "ModelState" contains "not configured for hand scoring"
