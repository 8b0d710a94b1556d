Feature: moveReservation and autoLogin (further endpoints of ProctorU's public list)
  SmarterServices' fixtures: a move answers {balance, reservation_id, reservation_no, url} with a new
  reservation_no and an /students/order URL; autoLogin answers {url}; their errors.

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
      """

  @req_PU-MOV-001
  Scenario: A move gives the reservation a new time under a new number; the old number is gone
    When the proctoru client sends POST "moveReservation" with:
      """
      reservation_no=$r1
      start_date=2026-11-22T10:30:00Z
      reservation_id=res-1
      url_return=https://lms.example.org/back
      notify=N
      """
    Then the proctoru answer is a success
    And the proctoru answer data field "reservation_id" is "res-1"
    And the proctoru answer data field "balance" is "30.0"
    And the proctoru answer's reservation_no is remembered as "moved"
    And the proctoru answer data url is the order URL of "moved"
    And the proctoru reservation "moved" is scheduled
    When the proctoru client sends POST "getStudentReservationList" with:
      """
      student_id=42
      """
    Then the proctoru answer data lists the reservations "moved"
    And the proctoru answer data field "0.start_date" is "2026-11-22T10:30:00Z"
    When the proctoru client sends POST "beginReservation" with:
      """
      student_id=42
      reservation_no=$r1
      """
    Then the proctoru answer is error 2 "Reservation Not found : Error count 0 of 50"

  @req_PU-MOV-001
  Scenario: The moved reservation begins at its new time, not its old one
    When the proctoru client sends POST "moveReservation" with:
      """
      reservation_no=$r1
      start_date=2026-11-21T10:00:00Z
      """
    Then the proctoru answer's reservation_no is remembered as "moved"
    When the proctoru clock advances 60 minutes
    And the proctoru client sends POST "beginReservation" with:
      """
      student_id=42
      reservation_no=$moved
      """
    Then the proctoru answer is error 2 "Reservation is in the future : Error count 0 of 50"
    When the proctoru clock advances 45 minutes
    And the proctoru client sends POST "beginReservation" with:
      """
      student_id=42
      reservation_no=$moved
      """
    Then the proctoru answer is a success
    And the proctoru reservation "moved" is started

  @req_PU-MOV-002
  Scenario: A move of a cancelled reservation, into the past, onto another reservation, or with a bad request
    Given a proctoru reservation "r2" made with:
      """
      student_id=42
      first_name=Ada
      last_name=Lovelace
      email=ada@example.org
      time_zone_id=UTC
      start_date=2026-11-21T12:00:00Z
      duration=60
      reservation_id=res-2
      """
    When the proctoru client sends POST "moveReservation" with:
      """
      reservation_no=$r2
      start_date=2026-11-21T09:30:00Z
      """
    Then the proctoru answer is error 2 "OVERLAP : Error count 0 of 50 : Error count 0 of 50"
    When the proctoru client sends POST "moveReservation" with:
      """
      reservation_no=$r2
      start_date=2026-11-21T07:00:00Z
      """
    Then the proctoru answer is error 2 "start_date in the past : Error count 1 of 50"
    When the proctoru client sends POST "moveReservation" with:
      """
      reservation_no=$r2
      start_date=tomorrow
      """
    Then the proctoru answer is error 3 "start_date is not a valid date : Error count 2 of 50"
    When the proctoru client sends POST "moveReservation" with:
      """
      start_date=2026-11-22T07:00:00Z
      """
    Then the proctoru answer is error 3 "reservation_no is required : Error count 3 of 50"
    When the proctoru client sends POST "removeReservation" with:
      """
      student_id=42
      reservation_no=$r2
      """
    Then the proctoru answer is a success
    When the proctoru client sends POST "moveReservation" with:
      """
      reservation_no=$r2
      start_date=2026-11-22T07:00:00Z
      """
    Then the proctoru answer is error 2 "Reservation Cancelled. : Error count 4 of 50"
    And the proctoru reservation "r2" is cancelled
    And the proctoru reservation "r1" is scheduled

  @req_PU-MOV-002
  Scenario: Another institution's reservation cannot be moved
    Given proctoru has the seed:
      """
      {"institutions": [{"token": "6f1c9a77-0000-4000-8000-00000000abcd", "institution": "uni"}]}
      """
    When the proctoru client sends POST "moveReservation" with token "6f1c9a77-0000-4000-8000-00000000abcd" and:
      """
      reservation_no=$r1
      start_date=2026-11-22T07:00:00Z
      """
    Then the proctoru answer is error 2 "RESERVATION_NOT_FOR_THIS_INSTITUTION : Error count 0 of 50 : Error count 0 of 50"
    When the proctoru client sends POST "moveReservation" with:
      """
      reservation_no=1
      start_date=2026-11-22T07:00:00Z
      """
    Then the proctoru answer is error 2 "Reservation Not found : Error count 0 of 50"

  @req_PU-ALG-001
  Scenario: autoLogin gives a known student a login URL and, with update=Y, takes the profile sent
    When the proctoru client sends POST "autoLogin" with:
      """
      student_id=42
      email=ada.l@example.org
      first_name=Ada
      last_name=Lovelace
      time_zone_id=Central Standard Time
      url_return=https://lms.example.org/back
      """
    Then the proctoru answer is a success
    And the proctoru answer data field "url" starts with "https://demo.proctoru.com/session/auto_login?token="
    When the proctoru client sends GET "getStudentProfile" with:
      """
      student_id=42
      """
    Then the proctoru answer data field "email" is "ada@example.org"
    When the proctoru client sends POST "autoLogin" with:
      """
      student_id=42
      email=ada.l@example.org
      time_zone_id=Central Standard Time
      update=Y
      """
    Then the proctoru answer is a success
    When the proctoru client sends GET "getStudentProfile" with:
      """
      student_id=42
      """
    Then the proctoru answer data field "email" is "ada.l@example.org"
    And the proctoru answer data field "time_zone_id" is "Central Standard Time"

  @req_PU-ALG-001
  Scenario: autoLogin of an unknown student is "Student Not Found", also at the trailing-slash path
    When the proctoru client sends POST "autoLogin/" with:
      """
      student_id=99
      first_name=Luke
      last_name=Skywalker
      email=luke@example.org
      time_zone_id=Central Standard Time
      """
    Then the proctoru answer is error 2 "Student Not Found : Error count 0 of 50"
    When the proctoru client sends POST "autoLogin" with:
      """
      first_name=Luke
      """
    Then the proctoru answer is error 3 "student_id is required : Error count 1 of 50"

  # examrig's conventions on the scenarios above (the field key ...): claimed by PU-CONV-001
  @req_PU-CONV-001 @examrig
  Scenario: examrig's convention: A move of a cancelled reservation, into the past, onto another reservation, or with a bad request
    Given a proctoru reservation "r2" made with:
      """
      student_id=42
      first_name=Ada
      last_name=Lovelace
      email=ada@example.org
      time_zone_id=UTC
      start_date=2026-11-21T12:00:00Z
      duration=60
      reservation_id=res-2
      """
    When the proctoru client sends POST "moveReservation" with:
      """
      reservation_no=$r2
      start_date=2026-11-21T09:30:00Z
      """
    Then the proctoru answer is error 2 "OVERLAP : Error count 0 of 50 : Error count 0 of 50"
    And the proctoru answer names the field "start_date"
    When the proctoru client sends POST "moveReservation" with:
      """
      reservation_no=$r2
      start_date=2026-11-21T07:00:00Z
      """
    Then the proctoru answer is error 2 "start_date in the past : Error count 1 of 50"
    When the proctoru client sends POST "moveReservation" with:
      """
      reservation_no=$r2
      start_date=tomorrow
      """
    Then the proctoru answer is error 3 "start_date is not a valid date : Error count 2 of 50"
    When the proctoru client sends POST "moveReservation" with:
      """
      start_date=2026-11-22T07:00:00Z
      """
    Then the proctoru answer is error 3 "reservation_no is required : Error count 3 of 50"
    When the proctoru client sends POST "removeReservation" with:
      """
      student_id=42
      reservation_no=$r2
      """
    Then the proctoru answer is a success
    When the proctoru client sends POST "moveReservation" with:
      """
      reservation_no=$r2
      start_date=2026-11-22T07:00:00Z
      """
    Then the proctoru answer is error 2 "Reservation Cancelled. : Error count 4 of 50"
    And the proctoru reservation "r2" is cancelled
    And the proctoru reservation "r1" is scheduled

  @req_PU-CONV-001 @examrig
  Scenario: examrig's convention: Another institution's reservation cannot be moved
    Given proctoru has the seed:
      """
      {"institutions": [{"token": "6f1c9a77-0000-4000-8000-00000000abcd", "institution": "uni"}]}
      """
    When the proctoru client sends POST "moveReservation" with token "6f1c9a77-0000-4000-8000-00000000abcd" and:
      """
      reservation_no=$r1
      start_date=2026-11-22T07:00:00Z
      """
    Then the proctoru answer is error 2 "RESERVATION_NOT_FOR_THIS_INSTITUTION : Error count 0 of 50 : Error count 0 of 50"
    And the proctoru answer names the field "reservation_no"
    When the proctoru client sends POST "moveReservation" with:
      """
      reservation_no=1
      start_date=2026-11-22T07:00:00Z
      """
    Then the proctoru answer is error 2 "Reservation Not found : Error count 0 of 50"

  @req_PU-CONV-001 @examrig
  Scenario: examrig's convention: autoLogin of an unknown student is "Student Not Found", also at the trailing-slash path
    When the proctoru client sends POST "autoLogin/" with:
      """
      student_id=99
      first_name=Luke
      last_name=Skywalker
      email=luke@example.org
      time_zone_id=Central Standard Time
      """
    Then the proctoru answer is error 2 "Student Not Found : Error count 0 of 50"
    And the proctoru answer names the field "student_id"
    When the proctoru client sends POST "autoLogin" with:
      """
      first_name=Luke
      """
    Then the proctoru answer is error 3 "student_id is required : Error count 1 of 50"
