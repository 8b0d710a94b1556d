Feature: A reservation linked to a deliveryodata attempt (qm-proctoring-exams.rst)
  Beginning it records an Appointment on the attempt, reads the ProctorFacingQMControlsWidgetUrl
  and PATCHes ParticipantFacingProctorSystemWidgetUrl with the session's candidate URL.

  Background:
    Given the proctoru clock is at "2026-11-21T08:00:00Z"
    And a proctoru reservation "r1" made with:
      """
      student_id=42
      first_name=Ada
      last_name=Lovelace
      email=ada@example.org
      time_zone_id=Romance Standard Time
      start_date=2026-11-21T08:10:00Z
      duration=60
      reservation_id=res-1
      deliveryodata_attempt_id=12
      """

  @req_PU-DOD-001
  Scenario: The first begin links the attempt; a second begin does not call again
    Given a deliveryodata stub with attempt 12
    When the proctoru client sends POST "beginReservation" with:
      """
      student_id=42
      reservation_no=$r1
      """
    Then the proctoru answer is a success
    And deliveryodata received, in order: POST /Appointments, GET /Attempts(12), PATCH /Attempts(12)
    And the proctoru reservation "r1" has the deliveryodata link "linked"
    And deliveryodata received the Appointment, the Basic credentials and the candidate URL
    When the proctoru client sends POST "beginReservation" with:
      """
      student_id=42
      reservation_no=$r1
      """
    Then the proctoru answer is a success
    And deliveryodata received, in order: POST /Appointments, GET /Attempts(12), PATCH /Attempts(12)

  @req_PU-DOD-002
  Scenario: deliveryodata down does not fail the begin; the next begin links
    Given the deliveryodata stub is down
    When the proctoru client sends POST "beginReservation" with:
      """
      student_id=42
      reservation_no=$r1
      """
    Then the proctoru answer is a success
    And the proctoru reservation "r1" is started
    And the proctoru reservation "r1" has the deliveryodata link "failed"
    Given the deliveryodata stub forgets its calls
    And a deliveryodata stub with attempt 12
    When the proctoru client sends POST "beginReservation" with:
      """
      student_id=42
      reservation_no=$r1
      """
    Then the proctoru answer is a success
    And the proctoru reservation "r1" has the deliveryodata link "linked"
    And deliveryodata received, in order: POST /Appointments, GET /Attempts(12), PATCH /Attempts(12)

  @req_PU-DOD-001
  Scenario: A reservation without an attempt makes no deliveryodata call
    Given a deliveryodata stub with attempt 12
    And a proctoru reservation "r2" made with:
      """
      student_id=43
      first_name=Alan
      last_name=Turing
      email=alan@example.org
      time_zone_id=UTC
      start_date=2026-11-21T08:05:00Z
      duration=60
      reservation_id=res-2
      """
    When the proctoru client sends POST "beginReservation" with:
      """
      student_id=43
      reservation_no=$r2
      """
    Then the proctoru answer is a success
    And deliveryodata received no call

  # examrig's conventions on the scenarios above (the journal of the service under test): claimed by CORE-JRN-001
  @req_CORE-JRN-001 @examrig
  Scenario: examrig's convention: The begin's deliveryodata calls are journaled as outbound
    Given a deliveryodata stub with attempt 12
    When the proctoru client sends POST "beginReservation" with:
      """
      student_id=42
      reservation_no=$r1
      """
    Then the proctoru answer is a success
    And deliveryodata received, in order: POST /Appointments, GET /Attempts(12), PATCH /Attempts(12)
    And the proctoru journal shows 1 outbound request to "/deliveryodata/400449/Appointments" answered 201
    And the proctoru journal shows 1 outbound request to "/deliveryodata/400449/Attempts(12)" answered 204
