Feature: Availability and addAdHocProcess (schedule and reschedule)
  The learner picks a slot from getScheduleInfoAvailableTimesList and addAdHocProcess books it;
  the same call with a reservation_no reschedules.

  Background:
    Given the proctoru clock is at "2026-11-21T08:00:00Z"

  @req_PU-AVL-001
  Scenario: Slots of the requested day, in the future, with the learner's offset
    When the proctoru client sends GET "getScheduleInfoAvailableTimesList" with:
      """
      duration=60
      time_zone_id=Romance Standard Time
      start_date=2026-11-21T00:00:00+01:00
      takeitnow=N
      isadhoc=Y
      """
    Then the proctoru answer is a success
    And the proctoru answer data items have the fields "start_date, local_start_date, fee, fee_premium, fee_discount"
    And the proctoru answer data has 60 items
    And the proctoru answer data field "0.start_date" is "2026-11-21T08:00:00Z"
    And the proctoru answer data field "0.local_start_date" is "2026-11-21T09:00:00+01:00"
    And the proctoru answer data field "0.fee" is "30.0"

  @req_PU-AVL-002
  Scenario: Only slots inside availability windows with a free proctor are offered
    Given proctoru has the seed:
      """
      {"availability": [{"start": "2026-11-22T09:00:00Z", "end": "2026-11-22T10:30:00Z", "capacity": 1}]}
      """
    When the proctoru client sends GET "getScheduleInfoAvailableTimesList" with:
      """
      duration=60
      time_zone_id=UTC
      start_date=2026-11-22T00:00:00Z
      """
    Then the proctoru answer data has 3 items
    And the proctoru answer data field "2.start_date" is "2026-11-22T09:30:00Z"
    When a proctoru reservation "r1" is made with:
      """
      student_id=7
      first_name=Grace
      last_name=Hopper
      email=grace@example.org
      time_zone_id=UTC
      start_date=2026-11-22T09:45:00Z
      duration=30
      reservation_id=res-1
      """
    And the proctoru client sends GET "getScheduleInfoAvailableTimesList" with:
      """
      duration=60
      time_zone_id=UTC
      start_date=2026-11-22T00:00:00Z
      """
    Then the proctoru answer data has 0 items

  @req_PU-ADH-001 @req_PU-TIME-002
  Scenario: addAdHocProcess books the slot the xBlock sends with an offset
    When the proctoru client sends POST "addAdHocProcess" with:
      """
      time_sent=2026-11-21T07:59:59.654321
      student_id=42
      first_name=Ada Lovelace
      last_name=Ada Lovelace
      email=ada@example.org
      address1=12 rue de Rivoli
      city=Paris
      country=FR
      phone1=+33123456789
      time_zone_id=Romance Standard Time
      description=course run - Final exam \n Bring a pencil
      notes=Password is - password\nExam Notes - none
      duration=60
      start_date=2026-11-22T10:00:00+01:00
      takeitnow=N
      reservation_id=2b7f0c1d9e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c
      state=CA
      """
    Then the proctoru answer is a success
    And the proctoru answer data field "reservation_no" is "907886100"
    And the proctoru answer data field "reservation_id" is "2b7f0c1d9e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c"
    And the proctoru answer data field "balance" is "0.0"
    And the response JSON field "data.url" contains "reservation_no=907886100"
    And the response JSON field "data.url" contains "&reservation_no=907886100&return_to=https%3A%2F%2Fdemo.proctoru.com%2Fstudents%2Freservations"
    When the proctoru client sends POST "getStudentReservationList" with:
      """
      student_id=42
      """
    Then the proctoru answer data field "0.start_date" is "2026-11-22T09:00:00Z"

  @req_PU-ADH-002 @req_PU-ENV-003
  Scenario: A reservation_id the institution already used is refused
    Given a proctoru reservation "r1" made with:
      """
      student_id=42
      first_name=Ada
      last_name=Lovelace
      email=ada@example.org
      time_zone_id=UTC
      start_date=2026-11-22T09:00:00Z
      duration=60
      reservation_id=dup
      """
    When the proctoru client sends POST "addAdHocProcess" with:
      """
      student_id=43
      first_name=Alan
      last_name=Turing
      email=alan@example.org
      time_zone_id=UTC
      start_date=2026-11-23T09:00:00Z
      duration=60
      reservation_id=dup
      """
    Then the proctoru answer is error 2 "reservation_id_EXIST_FOR_THIS_INSTITUTION : Error count 0 of 50 : Error count 0 of 50"

  @req_PU-ADH-003 @req_PU-ENV-003
  Scenario: A second reservation of the student that overlaps the first is refused
    Given a proctoru reservation "r1" made with:
      """
      student_id=42
      first_name=Ada
      last_name=Lovelace
      email=ada@example.org
      time_zone_id=UTC
      start_date=2026-11-22T09:00:00Z
      duration=60
      reservation_id=first
      """
    When the proctoru client sends POST "addAdHocProcess" with:
      """
      student_id=42
      first_name=Ada
      last_name=Lovelace
      email=ada@example.org
      time_zone_id=UTC
      start_date=2026-11-22T09:59:00Z
      duration=30
      reservation_id=second
      """
    Then the proctoru answer is error 2 "OVERLAP : Error count 0 of 50 : Error count 0 of 50"
    When the proctoru client sends POST "addAdHocProcess" with:
      """
      student_id=42
      first_name=Ada
      last_name=Lovelace
      email=ada@example.org
      time_zone_id=UTC
      start_date=2026-11-22T10:00:00Z
      duration=30
      reservation_id=second
      """
    Then the proctoru answer is a success

  @req_PU-ADH-004
  Scenario: A start in the past is refused
    When the proctoru client sends POST "addAdHocProcess" with:
      """
      student_id=42
      first_name=Ada
      last_name=Lovelace
      email=ada@example.org
      time_zone_id=Romance Standard Time
      start_date=2026-11-21T08:59:59+01:00
      duration=60
      reservation_id=late
      """
    Then the proctoru answer is error 2 "start_date in the past : Error count 0 of 50"

  @req_PU-TZ-002
  Scenario Outline: An unknown Windows time zone Id is refused
    When the proctoru client sends POST "<endpoint>" with:
      """
      student_id=42
      first_name=Ada
      last_name=Lovelace
      email=ada@example.org
      time_zone_id=Europe/Paris
      start_date=2026-11-22T09:00:00Z
      duration=60
      reservation_id=tz
      """
    Then the proctoru answer is error 2 "TimeZone not found. : Error count 0 of 50"

    Examples:
      | endpoint                          |
      | addAdHocProcess                   |
      | getScheduleInfoAvailableTimesList |

  @req_PU-ADH-005
  Scenario: addAdHocProcess with a reservation_no moves that reservation
    Given a proctoru reservation "r1" made with:
      """
      student_id=42
      first_name=Ada
      last_name=Lovelace
      email=ada@example.org
      time_zone_id=UTC
      start_date=2026-11-22T09:00:00Z
      duration=60
      reservation_id=orig
      """
    When the proctoru client sends POST "addAdHocProcess" with:
      """
      student_id=42
      first_name=Ada
      last_name=Lovelace
      email=ada@example.org
      time_zone_id=UTC
      start_date=2026-11-22T09:30:00Z
      duration=60
      reservation_id=orig
      reservation_no=$r1
      """
    Then the proctoru answer is a success
    And the proctoru answer data field "reservation_no" is "$r1"
    And the proctoru answer data field "reservation_id" is "orig"
    When the proctoru client sends POST "getStudentReservationList" with:
      """
      student_id=42
      """
    Then the proctoru answer data lists the reservations "r1"
    And the proctoru answer data field "0.start_date" is "2026-11-22T09:30:00Z"

  # examrig's conventions on the scenarios above (the field key ...): claimed by PU-CONV-001
  @req_PU-CONV-001 @examrig
  Scenario: examrig's convention: A reservation_id the institution already used is refused
    Given a proctoru reservation "r1" made with:
      """
      student_id=42
      first_name=Ada
      last_name=Lovelace
      email=ada@example.org
      time_zone_id=UTC
      start_date=2026-11-22T09:00:00Z
      duration=60
      reservation_id=dup
      """
    When the proctoru client sends POST "addAdHocProcess" with:
      """
      student_id=43
      first_name=Alan
      last_name=Turing
      email=alan@example.org
      time_zone_id=UTC
      start_date=2026-11-23T09:00:00Z
      duration=60
      reservation_id=dup
      """
    Then the proctoru answer is error 2 "reservation_id_EXIST_FOR_THIS_INSTITUTION : Error count 0 of 50 : Error count 0 of 50"
    And the proctoru answer names the field "reservation_id"

  @req_PU-CONV-001 @examrig
  Scenario: examrig's convention: A start in the past is refused
    When the proctoru client sends POST "addAdHocProcess" with:
      """
      student_id=42
      first_name=Ada
      last_name=Lovelace
      email=ada@example.org
      time_zone_id=Romance Standard Time
      start_date=2026-11-21T08:59:59+01:00
      duration=60
      reservation_id=late
      """
    Then the proctoru answer is error 2 "start_date in the past : Error count 0 of 50"
    And the proctoru answer names the field "start_date"

  @req_PU-CONV-001 @examrig
  Scenario Outline: examrig's convention: An unknown Windows time zone Id is refused
    When the proctoru client sends POST "<endpoint>" with:
      """
      student_id=42
      first_name=Ada
      last_name=Lovelace
      email=ada@example.org
      time_zone_id=Europe/Paris
      start_date=2026-11-22T09:00:00Z
      duration=60
      reservation_id=tz
      """
    Then the proctoru answer is error 2 "TimeZone not found. : Error count 0 of 50"
    And the proctoru answer names the field "time_zone_id"

    Examples:
      | endpoint                          |
      | addAdHocProcess                   |
      | getScheduleInfoAvailableTimesList |
