Feature: Hand scoring end to end: TIS uploads, the THSS policy scores, the scores reach TIS
  Until examrig's TIS is in the run, a responses-backed stand-in plays TIS's
  /ItemScoringCallbackRcv.axd (which always answers 200).

  @req_THSS-E2E-001 @req_THSS-POL-001 @req_THSS-CB-001
  Scenario: The thss policy scores two items and both scores reach TIS
    Given the thss item "200-15570" is hand-scored with max score 2
    And the thss item "200-196783" is hand-scored with max score 4
    And a thss scoring policy:
      """
      {"itemType": "SA", "kind": "fixed", "score": 2}
      """
    And a thss scoring policy:
      """
      {"itemType": "ER", "kind": "fixed", "score": 3}
      """
    And a TIS scoring daemon stand-in answering 200
    When TIS uploads to thss a TRT for opportunity "71a3ee01-f215-4ccd-b74d-df1097a01a0c" with items "200-15570:SA:NOTSCORED;200-196783:ER:NOTSCORED;200-15566:MC:SCORED"
    And thss runs its due scoring policies
    Then the TIS stand-in received 2 item scores
    And the TIS stand-in received score 2 for item "200-15570" of opportunity "71a3ee01-f215-4ccd-b74d-df1097a01a0c"
    And the TIS stand-in received score 3 for item "200-196783" of opportunity "71a3ee01-f215-4ccd-b74d-df1097a01a0c"
    And the thss work queue holds "200-15570,200-196783" in status "sent"
