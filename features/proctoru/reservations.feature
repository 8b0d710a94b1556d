Feature: Reservations after booking: listing, begin, cancel, the clock, the activity report, editStudent

  Background:
    Given the proctoru clock is at "2026-11-21T08:00:00Z"
    And a proctoru reservation "r1" made with:
      """
      student_id=42
      first_name=Ada
      last_name=Lovelace
      email=ada@example.org
      time_zone_id=UTC
      start_date=2026-11-21T09:00:00Z
      duration=60
      reservation_id=res-1
      description=Final exam
      """

  @req_PU-LST-001
  Scenario: The student's pending reservations are listed; an unknown student is not found
    Given a proctoru reservation "r2" made with:
      """
      student_id=42
      first_name=Ada
      last_name=Lovelace
      email=ada@example.org
      time_zone_id=UTC
      start_date=2026-11-21T08:30:00Z
      duration=15
      reservation_id=res-2
      """
    When the proctoru client sends POST "getStudentReservationList" with:
      """
      student_id=42
      """
    Then the proctoru answer is a success
    And the proctoru answer data lists the reservations "r2, r1"
    And the proctoru answer data items have the fields "reservation_no, reservation_id, exam_id, description, courseno, instructor, start_date, test, escalated"
    And the proctoru answer data field "1.test" is "Final exam"
    When the proctoru client sends POST "getStudentReservationList" with:
      """
      student_id=99
      """
    Then the proctoru answer is error 2 "Student Not found : Error count 0 of 50"

  @req_PU-BGN-001
  Scenario: Beginning more than 15 minutes early is "in the future", with the suffix the xBlock needs
    When the proctoru clock advances 44 minutes
    And the proctoru client sends POST "beginReservation" with:
      """
      student_id=42
      reservation_id=res-1
      reservation_no=$r1
      """
    Then the proctoru answer is error 2 "Reservation is in the future : Error count 0 of 50"
    And the proctoru reservation "r1" is scheduled

  @req_PU-BGN-002
  Scenario: Beginning from 15 minutes before the start opens the session, and again gives the same url
    When the proctoru clock advances 45 minutes
    And the proctoru client sends POST "beginReservation" with:
      """
      student_id=42
      reservation_id=res-1
      reservation_no=$r1
      """
    Then the proctoru answer is a success
    And the response JSON field "data.url" contains "/students/fulfillments/"
    And the proctoru reservation "r1" is started
    When the proctoru client sends POST "beginReservation" with:
      """
      student_id=42
      reservation_no=$r1
      """
    Then the proctoru answer is a success
    And the proctoru reservation "r1" is started

  @req_PU-BGN-003
  Scenario: A reservation_id that is not the reservation's is not found (strict matching)
    When the proctoru clock advances 50 minutes
    And the proctoru client sends POST "beginReservation" with:
      """
      student_id=42
      reservation_id=a-new-random-id
      reservation_no=$r1
      """
    Then the proctoru answer is error 2 "Reservation Not found : Error count 0 of 50"
    And the proctoru reservation "r1" is scheduled

  @req_PU-RMV-001
  Scenario: Cancelling, cancelling again, cancelling what does not exist
    When the proctoru client sends POST "removeReservation" with:
      """
      student_id=42
      reservation_no=$r1
      """
    Then the proctoru answer is a success
    And the proctoru answer data field "onaccount" is "30.00"
    And the proctoru reservation "r1" is cancelled
    When the proctoru client sends POST "removeReservation" with:
      """
      student_id=42
      reservation_no=$r1
      """
    Then the proctoru answer is error 2 "Reservation Cancelled. : Error count 0 of 50"
    When the proctoru client sends POST "removeReservation" with:
      """
      student_id=42
      reservation_no=1
      """
    Then the proctoru answer is error 2 "Reservation Not found : Error count 1 of 50"

  @req_PU-LIFE-001
  Scenario: Not begun 15 minutes after the start is a no-show; a begun session ends after its duration
    Given a proctoru reservation "r2" made with:
      """
      student_id=43
      first_name=Alan
      last_name=Turing
      email=alan@example.org
      time_zone_id=UTC
      start_date=2026-11-21T09:00:00Z
      duration=30
      reservation_id=res-2
      """
    When the proctoru clock advances 60 minutes
    And the proctoru client sends POST "beginReservation" with:
      """
      student_id=43
      reservation_no=$r2
      """
    Then the proctoru answer is a success
    When the proctoru clock advances 15 minutes
    Then the proctoru reservation "r1" is scheduled
    And the proctoru reservation "r2" is started
    When the proctoru clock advances 1 minutes
    And the proctoru client sends POST "getStudentReservationList" with:
      """
      """
    Then the proctoru answer data lists the reservations "r2"
    And the proctoru reservation "r1" is no_show
    When the proctoru clock advances 15 minutes
    Then the proctoru reservation "r2" is ended
    When the proctoru client sends POST "beginReservation" with:
      """
      student_id=42
      reservation_no=$r1
      """
    Then the proctoru answer is error 2 "Reservation Not found : Error count 0 of 50"

  @req_PU-ACT-001
  Scenario: The activity report shows every reservation of the window with its proctor notes
    Given a proctoru reservation "r2" made with:
      """
      student_id=42
      first_name=Ada
      last_name=Lovelace
      email=ada@example.org
      time_zone_id=UTC
      start_date=2026-11-21T10:00:00Z
      duration=60
      reservation_id=res-2
      """
    When the proctoru client sends POST "removeReservation" with:
      """
      student_id=42
      reservation_no=$r2
      """
    And the proctoru clock advances 50 minutes
    And the proctoru client sends POST "beginReservation" with:
      """
      student_id=42
      reservation_no=$r1
      """
    And the proctoru client sends POST "clientActivityReport" with:
      """
      student_id=42
      start_date=2026-11-21T00:00:00Z
      end_date=2026-11-22T00:00:00Z
      """
    Then the proctoru answer is a success
    And the proctoru answer data lists the reservations "r1, r2"
    And the proctoru answer data items have the fields "ReservationNo, StartDate, EndDate, Student, ProctorNotes, TestSubmitted, Authenticated, CheckID"
    And the proctoru answer data field "0.ProctorNotes" is "fulfillment started"
    And the proctoru answer data field "0.Student" is "Ada Lovelace"
    And the proctoru answer data field "0.EndDate" is "2026-11-21T10:00:00Z"
    And the proctoru answer data field "0.Authenticated" is "true"
    And the proctoru answer data field "1.ProctorNotes" is "reservation cancelled"
    When the proctoru clock advances 70 minutes
    And the proctoru client sends POST "clientActivityReport" with:
      """
      start_date=2026-11-21T09:00:00Z
      end_date=2026-11-21T09:00:00Z
      """
    Then the proctoru answer data lists the reservations "r1"
    And the proctoru answer data field "0.ProctorNotes" is "fulfillment ended"
    And the proctoru answer data field "0.TestSubmitted" is "true"

  @req_PU-EDT-001
  Scenario: editStudent changes a known student; an unknown one is not found
    When the proctoru client sends POST "editStudent" with:
      """
      student_id=42
      first_name=Augusta Ada
      city=London
      time_zone_id=GMT Standard Time
      """
    Then the proctoru answer is a success
    And the proctoru answer data field "first_name" is "Augusta Ada"
    When the proctoru client sends GET "getStudentProfile" with:
      """
      student_id=42
      """
    Then the proctoru answer data field "time_zone_id" is "GMT Standard Time"
    And the proctoru answer data field "city" is "London"
    When the proctoru client sends POST "editStudent" with:
      """
      student_id=77
      city=London
      """
    Then the proctoru answer is error 2 "Student Not found : Error count 0 of 50"
