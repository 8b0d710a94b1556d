Feature: The ProctorU envelope, the Authorization-Token, time_sent and malformed requests
  Every call of the legacy API answers HTTP 200 with {time_sent, response_code, message, data};
  parameters travel in a form body even on GET (the xBlock's requests.get(url, data=...)).

  Background:
    Given the proctoru clock is at "2026-11-21T08:00:00Z"

  @req_PU-ENV-001 @req_PU-TZ-001 @req_PU-TIME-002
  Scenario: getTimeZoneList answers the Windows time zones in the envelope
    When the proctoru client sends GET "getTimeZoneList" with:
      """
      time_sent=2026-11-21T07:59:58.123456
      """
    Then the proctoru answer is a success
    And the proctoru answer data items have the fields "TimeZoneNo, GMTOffset, Id, DisplayName, Description, SortOrder, LocalTime, DST"
    And the proctoru answer data field "15.Id" is "Romance Standard Time"
    And the proctoru answer data field "15.LocalTime" is "9:00 AM"
    And the proctoru answer data field "15.GMTOffset" is "1"

  @req_PU-ENV-002
  Scenario Outline: Parameters are read from a GET form body, the query string or JSON
    When the proctoru client sends <method> "getScheduleInfoAvailableTimesList" with the parameters in the <where>:
      """
      duration=60
      time_zone_id=UTC
      start_date=2026-11-21T22:00:00Z
      takeitnow=N
      isadhoc=Y
      """
    Then the proctoru answer is a success
    And the proctoru answer data has 96 items
    And the proctoru answer data field "0.start_date" is "2026-11-21T22:00:00Z"

    Examples:
      | method | where |
      | GET    | body  |
      | GET    | query |
      | POST   | json  |

  @req_PU-AUTH-001
  Scenario: A request without the Authorization-Token header is refused
    When the proctoru client sends GET "getTimeZoneList" without a token
    Then the proctoru answer is error 2 "Authorization-Token header is missing : Error count 0 of 50"

  @req_PU-AUTH-001
  Scenario: A token no institution holds is refused, a seeded institution's token works
    Given proctoru has the seed:
      """
      {"institutions": [{"token": "6f1c9a77-0000-4000-8000-00000000abcd", "institution": "uni"}]}
      """
    When the proctoru client sends GET "getTimeZoneList" with token "6f1c9a77-0000-4000-8000-00000000ffff"
    Then the proctoru answer is error 2 "Invalid Authorization-Token : Error count 0 of 50"
    When the proctoru client sends GET "getTimeZoneList" with token "6f1c9a77-0000-4000-8000-00000000abcd"
    Then the proctoru answer is a success

  @req_PU-TIME-001 @req_PU-TIME-003
  Scenario Outline: A time_sent more than five minutes off is a stale request
    When the proctoru client sends POST "getStudentReservationList" with:
      """
      time_sent=<time_sent>
      """
    Then the proctoru answer is error 2 "stale request"

    Examples:
      | time_sent                  |
      | 2026-11-21T07:54:59.999000 |
      | 2026-11-21T08:05:01        |
      | 2026-11-21T09:00:00+00:54  |

  @req_PU-TIME-003
  Scenario: A time_sent exactly five minutes off is still fresh
    When the proctoru client sends POST "getStudentReservationList" with:
      """
      time_sent=2026-11-21T09:05:00+01:00
      """
    Then the proctoru answer is a success
    And the proctoru answer data has 0 items

  @req_PU-REQ-001
  Scenario Outline: A missing required parameter is a bad request naming it
    When the proctoru client sends POST "<endpoint>" with:
      """
      <params>
      """
    Then the proctoru answer is error 3 "<field> is required : Error count 0 of 50"

    Examples:
      | endpoint                          | params                                | field         |
      | removeReservation                 | reservation_no=1                      | student_id    |
      | removeReservation                 | student_id=42                         | reservation_no |
      | beginReservation                  | reservation_no=1                      | student_id    |
      | getScheduleInfoAvailableTimesList | start_date=2026-11-22                 | time_zone_id  |
      | clientActivityReport              | start_date=2026-11-22                 | end_date      |
      | editStudent                       | city=Paris                            | student_id    |
      | addAdHocProcess                   | student_id=42                         | first_name    |

  @req_PU-REQ-002
  Scenario Outline: A date that does not parse is a bad request naming it
    When the proctoru client sends POST "<endpoint>" with:
      """
      <params>
      """
    Then the proctoru answer is error 3 "<field> is not a valid date : Error count 0 of 50"

    Examples:
      | endpoint                          | params                                                     | field      |
      | getScheduleInfoAvailableTimesList | time_zone_id=UTC;;start_date=tomorrow                      | start_date |
      | clientActivityReport              | start_date=2026-11-01;;end_date=2026-13-01                 | end_date   |
      | getTimeZoneList                   | time_sent=21/11/2026 08:00                                 | time_sent  |

  @req_PU-ENV-003 @req_PU-ENV-004
  Scenario: The error count grows with the institution's errors and is per institution
    When the proctoru client sends POST "removeReservation" with:
      """
      student_id=42
      reservation_no=1
      """
    Then the proctoru answer is error 2 "Student Not found : Error count 0 of 50"
    When the proctoru client sends POST "beginReservation" with:
      """
      student_id=42
      reservation_no=1
      """
    Then the proctoru answer is error 2 "Student Not found : Error count 1 of 50"
    When the proctoru clock advances 61 minutes
    And the proctoru client sends POST "editStudent" with:
      """
      student_id=42
      """
    Then the proctoru answer is error 2 "Student Not found : Error count 0 of 50"

  # examrig's conventions on the scenarios above (the field key ...): claimed by PU-CONV-001
  @req_PU-CONV-001 @examrig
  Scenario: examrig's convention: A request without the Authorization-Token header is refused
    When the proctoru client sends GET "getTimeZoneList" without a token
    Then the proctoru answer is error 2 "Authorization-Token header is missing : Error count 0 of 50"
    And the proctoru answer names the field "Authorization-Token"

  @req_PU-CONV-001 @examrig
  Scenario Outline: examrig's convention: A missing required parameter is a bad request naming it
    When the proctoru client sends POST "<endpoint>" with:
      """
      <params>
      """
    Then the proctoru answer is error 3 "<field> is required : Error count 0 of 50"
    And the proctoru answer names the field "<field>"

    Examples:
      | endpoint                          | params                                | field         |
      | removeReservation                 | reservation_no=1                      | student_id    |
      | removeReservation                 | student_id=42                         | reservation_no |
      | beginReservation                  | reservation_no=1                      | student_id    |
      | getScheduleInfoAvailableTimesList | start_date=2026-11-22                 | time_zone_id  |
      | clientActivityReport              | start_date=2026-11-22                 | end_date      |
      | editStudent                       | city=Paris                            | student_id    |
      | addAdHocProcess                   | student_id=42                         | first_name    |
