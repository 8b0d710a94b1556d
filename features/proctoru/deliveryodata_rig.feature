Feature: The deliveryodata link against examrig's own deliveryodata mock (qm-proctoring-exams.rst)
  proctoru's deliveryodata peer is the deliveryodata mock of the same run. Beginning a reservation that
  carries a deliveryodata attempt records an Appointment on the attempt, obtains the attempt's
  ProctorFacingQMControlsWidgetUrl and PATCHes ParticipantFacingProctorSystemWidgetUrl with the candidate
  URL; all of it is checked through deliveryodata's own OData API.

  Background:
    Given proctoru reaches examrig's deliveryodata mock
    And a deliveryodata customer with the standard seed
    And the deliveryodata clock is frozen at "2026-11-21T08:00:00Z"
    And the proctoru clock is at "2026-11-21T08:00:00Z"
    And a locked deliveryodata attempt "pu-res-1"
    And a proctoru reservation "r1" for the deliveryodata attempt made with:
      """
      student_id=42
      first_name=Ada
      last_name=Lovelace
      email=ada@example.org
      time_zone_id=Romance Standard Time
      start_date=2026-11-21T08:10:00Z
      duration=60
      reservation_id=res-1
      """

  @req_PU-DOD-001
  Scenario: Beginning records the Appointment and hands the candidate URL to the attempt
    When I GET deliveryodata "/deliveryodata/400449/Appointments?$filter=AttemptID eq {attempt}" as the API user
    Then the response status is 200
    And the deliveryodata JSON field "value" is []
    When the proctoru client sends POST "beginReservation" with:
      """
      student_id=42
      reservation_no=$r1
      """
    Then the proctoru answer is a success
    And the proctoru reservation "r1" has the deliveryodata link "linked"
    And the deliveryodata journal shows 1 inbound request to "/deliveryodata/400449/Appointments" answered 201
    When I GET deliveryodata "/deliveryodata/400449/Appointments?$filter=AttemptID eq {attempt}" as the API user
    Then the response status is 200
    And the deliveryodata answer holds the proctoru reservation number of "r1" in "value.0.ExternalID"
    And the deliveryodata JSON field "value.0.AppointmentStartUtc" is "2026-11-21T08:10:00Z"
    And the deliveryodata JSON field "value.0.AppointmentStart" is "2026-11-21T09:10:00"
    And the deliveryodata JSON field "value.0.TimeZoneID" is "Romance Standard Time"
    And the deliveryodata JSON field "value.0.Status" is "Started"
    When I GET the deliveryodata attempt entity
    Then the deliveryodata answer holds the proctoru candidate URL of "r1" in "ParticipantFacingProctorSystemWidgetUrl"
    When the proctoru client sends POST "beginReservation" with:
      """
      student_id=42
      reservation_no=$r1
      """
    Then the proctoru answer is a success
    And the deliveryodata journal shows 1 inbound request to "/deliveryodata/400449/Appointments" answered 201
    And the deliveryodata feed "/deliveryodata/400449/Appointments?$filter=AttemptID eq {attempt}" has 1 entities

  @req_PU-DOD-001
  Scenario: The candidate sees the proctoring session in the lobby and the proctor unlocks with the URL proctoru obtained
    When the proctoru client sends POST "beginReservation" with:
      """
      student_id=42
      reservation_no=$r1
      """
    Then the proctoru answer is a success
    Given I GET the deliveryodata attempt entity
    And the proctor holds the proctor widget URL proctoru obtained for "r1"
    When the participant opens the lobby URL
    Then the response status is 200
    And the deliveryodata answer holds the proctoru candidate URL of "r1" in "ProctorSystemWidgetUrl"
    And the deliveryodata JSON field "LockStatus" is true
    When the proctor does "Unlock"
    Then the response status is 200
    And the deliveryodata JSON field "LockStatus" is false
    When the participant starts the assessment
    Then the response status is 200
    And the deliveryodata JSON field "ResultStatus" is 1

  @req_PU-DOD-002
  Scenario: An attempt deliveryodata does not know fails the link, not the begin
    Given a proctoru reservation "r2" made with:
      """
      student_id=43
      first_name=Alan
      last_name=Turing
      email=alan@example.org
      time_zone_id=UTC
      start_date=2026-11-21T08:05:00Z
      duration=60
      reservation_id=res-2
      deliveryodata_attempt_id=999999
      """
    When the proctoru client sends POST "beginReservation" with:
      """
      student_id=43
      reservation_no=$r2
      """
    Then the proctoru answer is a success
    And the proctoru reservation "r2" is started
    And the proctoru reservation "r2" has the deliveryodata link "failed"
    When I GET deliveryodata "/deliveryodata/400449/Appointments?$filter=AttemptID eq 999999" as the API user
    Then the deliveryodata JSON field "value" is []
    When I GET the deliveryodata attempt entity
    Then the deliveryodata JSON field "ParticipantFacingProctorSystemWidgetUrl" is null

  # examrig's wording of the recorded link failure (PU-CONV-002)
  @req_PU-CONV-002 @examrig
  Scenario: examrig's convention: A failed link records which call was answered what
    Given a proctoru reservation "r2" made with:
      """
      student_id=43
      first_name=Alan
      last_name=Turing
      email=alan@example.org
      time_zone_id=UTC
      start_date=2026-11-21T08:05:00Z
      duration=60
      reservation_id=res-2
      deliveryodata_attempt_id=999999
      """
    When the proctoru client sends POST "beginReservation" with:
      """
      student_id=43
      reservation_no=$r2
      """
    Then the proctoru answer is a success
    And the proctoru reservation "r2" deliveryodata error contains "POST /Appointments answered 4"
