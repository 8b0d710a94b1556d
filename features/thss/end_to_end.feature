Feature: Hand scoring end to end: TIS uploads, the THSS policy scores, the scores reach TIS
  First against a responses-backed stand-in for TIS's /ItemScoringCallbackRcv.axd (which always
  answers 200), then through the rig with examrig's own tis mock: TIS uploads, thss scores, TIS stores.

  # scored by examrig's policies (its stand-in for a teacher): examrig's own, so @examrig
  @req_THSS-E2E-001 @req_THSS-POL-001 @req_THSS-CB-001 @examrig
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

  @req_THSS-E2E-002 @req_THSS-POL-001 @req_THSS-CB-001 @req_THSS-UP-001 @examrig
  Scenario: examrig's TIS uploads to thss, the thss policy scores both items, TIS stores both scores
    Given TIS has the hand-scored test package generated from seed 23 and no data warehouse
    And thss hand-scores every item of the TIS TRT generated from seed 23 with max score 2
    And a thss scoring policy:
      """
      {"itemType": "SA", "kind": "fixed", "score": 1}
      """
    And a thss scoring policy:
      """
      {"itemType": "ER", "kind": "fixed", "score": 1}
      """
    And TDS registered the hand-scored TIS TRT generated from seed 23 as submitted
    When TDS posts the hand-scored TIS TRT generated from seed 23 with its callback at tds
    And the TIS processing service runs
    Then thss holds every hand-scored item of that opportunity in status "pending"
    And TIS has every hand-scored item of that opportunity in status "WaitingForHandScore"
    When thss runs its due scoring policies
    Then thss holds every hand-scored item of that opportunity in status "sent"
    And TIS stored score 1 with status "Scored" for every hand-scored item of that opportunity
    And the TIS processing service runs
    And the TIS opportunity of that TRT went through the statuses "handscoring,handscored,scored"
