Feature: proctoru judges time_sent by the client's own clock
  A client stamps time_sent with its wall clock (the xBlock's utcnow()); it cannot know the mock's simulated
  time. Once a tester moves the tenant's clock (to reach a reservation's start or a no-show), calls stamped
  with the real clock stay fresh; a time_sent stale against the real clock (and the tenant's) is still refused.

  @req_PU-TIME-004
  Scenario: After the mock's clock is advanced two days, a call stamped with the real clock is fresh
    Given the proctoru clock runs 2 days ahead of the real clock
    When the proctoru client sends POST "getStudentReservationList" stamped with the real clock
    Then the proctoru answer is a success

  @req_PU-TIME-004 @req_PU-TIME-001
  Scenario: A call stamped ten minutes before the real clock is stale, whatever the mock's clock says
    Given the proctoru clock runs 2 days ahead of the real clock
    When the proctoru client sends POST "getStudentReservationList" stamped 10 minutes before the real clock
    Then the proctoru answer is error 2 "stale request"
