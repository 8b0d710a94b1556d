Feature: The xBlock learner flow against the proctoru mock
  Create (the student is created by the first booking), schedule, start, reschedule, start
  again, cancel — the calls the ProctorU xBlock makes, in its order.

  @req_PU-ADH-001 @req_PU-ADH-005 @req_PU-BGN-001 @req_PU-BGN-002 @req_PU-RMV-001 @req_PU-LST-001
  Scenario: create, schedule, start, reschedule, start again, cancel
    Given the proctoru clock is at "2026-11-21T08:00:00Z"
    When the proctoru client sends GET "getTimeZoneList" with:
      """
      """
    Then the proctoru answer is a success
    When the proctoru client sends GET "getScheduleInfoAvailableTimesList" with:
      """
      duration=30
      time_zone_id=Romance Standard Time
      start_date=2026-11-21T00:00:00+01:00
      takeitnow=N
      isadhoc=Y
      """
    Then the proctoru answer data field "4.local_start_date" is "2026-11-21T10:00:00+01:00"
    When a proctoru reservation "exam" is made with:
      """
      student_id=42
      first_name=Ada
      last_name=Ada
      email=ada@example.org
      address1=1 rue X
      city=Paris
      country=FR
      phone1=+3312345678
      time_zone_id=Romance Standard Time
      description=demo 2026 - Final \n Good luck
      notes=Password is - password\nExam Notes - none
      duration=30
      start_date=2026-11-21T10:00:00+01:00
      takeitnow=N
      reservation_id=aaaa0000aaaa0000aaaa0000aaaa0000aaaa0000
      state=CA
      """
    And the proctoru client sends POST "getStudentReservationList" with:
      """
      student_id=42
      """
    Then the proctoru answer data lists the reservations "exam"
    When the proctoru client sends POST "beginReservation" with:
      """
      student_id=42
      reservation_id=aaaa0000aaaa0000aaaa0000aaaa0000aaaa0000
      reservation_no=$exam
      """
    Then the proctoru answer is error 2 "Reservation is in the future : Error count 0 of 50"
    When the proctoru clock advances 50 minutes
    And the proctoru client sends POST "beginReservation" with:
      """
      student_id=42
      reservation_id=aaaa0000aaaa0000aaaa0000aaaa0000aaaa0000
      reservation_no=$exam
      """
    Then the proctoru answer is a success
    And the proctoru reservation "exam" is started
    When the proctoru client sends POST "addAdHocProcess" with:
      """
      student_id=42
      first_name=Ada
      last_name=Ada
      email=ada@example.org
      time_zone_id=Romance Standard Time
      duration=30
      start_date=2026-11-21T11:00:00+01:00
      takeitnow=N
      reservation_id=aaaa0000aaaa0000aaaa0000aaaa0000aaaa0000
      reservation_no=$exam
      """
    Then the proctoru answer is a success
    And the proctoru answer data field "reservation_no" is "$exam"
    And the proctoru reservation "exam" is scheduled
    When the proctoru clock advances 60 minutes
    And the proctoru client sends POST "beginReservation" with:
      """
      student_id=42
      reservation_id=aaaa0000aaaa0000aaaa0000aaaa0000aaaa0000
      reservation_no=$exam
      """
    Then the proctoru answer is a success
    And the proctoru reservation "exam" is started
    When the proctoru client sends POST "removeReservation" with:
      """
      student_id=42
      reservation_no=$exam
      """
    Then the proctoru answer is a success
    And the proctoru reservation "exam" is cancelled
    When the proctoru client sends POST "getStudentReservationList" with:
      """
      student_id=42
      """
    Then the proctoru answer data has 0 items
