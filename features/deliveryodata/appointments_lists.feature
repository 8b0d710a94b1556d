Feature: deliveryodata Appointments and AttemptLists, with the list's proctor controls URL

  Background:
    Given a deliveryodata customer with the standard seed
    And the deliveryodata clock is frozen at "2026-03-02T09:00:00Z"

  @req_DOD-APPT-001 @req_DOD-FMT-004
  Scenario: An appointment is created for an attempt, read, found by AttemptID, expanded and deleted
    Given a locked deliveryodata attempt "appt-1"
    When I POST to deliveryodata "/deliveryodata/400449/Appointments" as the API user with JSON:
      """
      {"AttemptID": {attempt}, "AppointmentStartUtc": "2026-03-03T14:30:00Z", "ExternalID": "pu-77",
       "TimeZoneID": "GMT Standard Time", "AppointmentStart": "2026-03-03T14:30:00", "ID": 999}
      """
    Then the response status is 201
    And the response header "Location" contains "/deliveryodata/400449/Appointments("
    And the deliveryodata JSON field "AttemptID" is {attempt}
    And the deliveryodata JSON field "AppointmentStartUtc" is "2026-03-03T14:30:00Z"
    And the deliveryodata JSON field "AppointmentStart" is "2026-03-03T14:30:00"
    And the deliveryodata JSON field "Status" is null
    When I remember the deliveryodata appointment
    And I GET deliveryodata "/deliveryodata/400449/Appointments({appointment})" as the API user
    Then the response status is 200
    And the deliveryodata JSON field "ID" is {appointment}
    And the deliveryodata JSON field "ExternalID" is "pu-77"
    And the deliveryodata feed "/deliveryodata/400449/Appointments?$filter=AttemptID eq {attempt}" has 1 entities
    And the deliveryodata feed "/deliveryodata/400449/Appointments?$filter=AttemptID eq 4242" has 0 entities
    When I GET deliveryodata "/deliveryodata/400449/Appointments({appointment})?$expand=Attempt" as the API user
    Then the deliveryodata JSON field "Attempt.ExternalAttemptID" is "appt-1"
    When I DELETE deliveryodata "/deliveryodata/400449/Appointments({appointment})" as the API user
    Then the response status is 204
    And the response body is empty
    And the deliveryodata feed "/deliveryodata/400449/Appointments" has 0 entities
    When I GET deliveryodata "/deliveryodata/400449/Appointments({appointment})" as the API user
    Then the response status is 404
    When I DELETE deliveryodata "/deliveryodata/400449/Appointments({appointment})" as the API user
    Then the response status is 404
    And the deliveryodata error message contains "Appointment"

  @req_DOD-APPT-001 @req_DOD-FMT-003
  Scenario Outline: A bad appointment is refused naming the property
    Given a locked deliveryodata attempt "appt-2"
    When I POST to deliveryodata "/deliveryodata/400449/Appointments" as the API user with JSON:
      """
      <body>
      """
    Then the response status is 400
    And the deliveryodata error message contains "<property>"
    And the deliveryodata feed "/deliveryodata/400449/Appointments" has 0 entities

    Examples:
      | body                                                                                | property            |
      | {"AttemptID": {attempt}}                                                            | AppointmentStartUtc |
      | {"AppointmentStartUtc": "2026-03-03T14:30:00Z"}                                     | AttemptID           |
      | {"AttemptID": 4242, "AppointmentStartUtc": "2026-03-03T14:30:00Z"}                  | AttemptID           |
      | {"AttemptID": {attempt}, "AppointmentStartUtc": "tomorrow"}                         | AppointmentStartUtc |
      | {"AttemptID": "#{attempt}", "AppointmentStartUtc": "2026-03-03T14:30:00Z"}          | AttemptID           |
      | {"AttemptID": {attempt}, "AppointmentStartUtc": "2026-03-03T14:30:00Z", "Room": 4}  | Room                |

  @req_DOD-APPT-001
  Scenario Outline: Appointments answer only GET, POST and DELETE
    Given a locked deliveryodata attempt "appt-3"
    And a deliveryodata appointment for the attempt starting "2026-03-03T14:30:00Z"
    When I <method> to deliveryodata "<path>" as the API user with JSON:
      """
      {"Status": "Cancelled"}
      """
    Then the response status is 405
    When I GET deliveryodata "/deliveryodata/400449/Appointments({appointment})" as the API user
    Then the deliveryodata JSON field "Status" is null

    Examples:
      | method | path                                               |
      | PATCH  | /deliveryodata/400449/Appointments({appointment})  |
      | MERGE  | /deliveryodata/400449/Appointments({appointment})  |
      | PUT    | /deliveryodata/400449/Appointments({appointment})  |
      | DELETE | /deliveryodata/400449/Appointments                 |

  @req_DOD-LIST-001
  Scenario: An AttemptList gets its ID and CreatedDateTime from the server, once
    When I POST to deliveryodata "/deliveryodata/400449/AttemptLists" as the API user with JSON:
      """
      {"ExternalAttemptListID": "list-1", "TestCenterID": 7, "CreatedDateTime": "2001-01-01T00:00:00Z", "ID": 50}
      """
    Then the response status is 201
    And the deliveryodata JSON field "ID" is 1
    And the deliveryodata JSON field "CreatedDateTime" is "2026-03-02T09:00:00Z"
    And the deliveryodata JSON field "Open" is false
    When the deliveryodata clock advances 600 seconds
    And I GET deliveryodata "/deliveryodata/400449/AttemptLists(1)" as the API user
    Then the deliveryodata JSON field "CreatedDateTime" is "2026-03-02T09:00:00Z"
    When I POST to deliveryodata "/deliveryodata/400449/AttemptLists" as the API user with JSON:
      """
      {"ExternalAttemptListID": "list-1"}
      """
    Then the response status is 409
    And the deliveryodata error message contains "ExternalAttemptListID"

  @req_DOD-LIST-001 @req_DOD-FMT-003
  Scenario Outline: A bad AttemptList is refused naming the property
    When I POST to deliveryodata "/deliveryodata/400449/AttemptLists" as the API user with JSON:
      """
      <body>
      """
    Then the response status is 400
    And the deliveryodata error message contains "<property>"
    And the deliveryodata feed "/deliveryodata/400449/AttemptLists" has 0 entities

    Examples:
      | body                                                                                 | property              |
      | {"TestCenterID": 7}                                                                  | ExternalAttemptListID |
      | {"ExternalAttemptListID": "l-x12345678901234567890123456789012345678901234567890123456789012"} | maximum length of 64 |
      | {"ExternalAttemptListID": "liste-é"}                                                 | ASCII                 |
      | {"ExternalAttemptListID": "l-2", "TestCenterID": 99}                                 | TestCenterID          |
      | {"ExternalAttemptListID": "l-2", "Open": "yes"}                                      | Open                  |

  @req_DOD-LIST-002
  Scenario: A test center has at most one open list
    Given an open deliveryodata attempt list "open-1" at test center 7
    When I POST to deliveryodata "/deliveryodata/400449/AttemptLists" as the API user with JSON:
      """
      {"ExternalAttemptListID": "open-2", "TestCenterID": 7, "Open": true}
      """
    Then the response status is 409
    And the deliveryodata error message contains "Open"
    When I POST to deliveryodata "/deliveryodata/400449/AttemptLists" as the API user with JSON:
      """
      {"ExternalAttemptListID": "closed-2", "TestCenterID": 7, "Open": false}
      """
    Then the response status is 201
    And the deliveryodata feed "/deliveryodata/400449/AttemptLists" has 2 entities

  @req_DOD-PRO-003 @req_DOD-URL-001
  Scenario: The list's controls URL controls every attempt of the list and only those
    Given an open deliveryodata attempt list "room-1" at test center 7
    And a deliveryodata attempt "in-1" with JSON:
      """
      {"AttemptListID": {list}, "LockRequired": true, "LockStatus": true}
      """
    And a deliveryodata attempt "in-2" with JSON:
      """
      {"AttemptListID": {list}, "LockRequired": true, "LockStatus": true}
      """
    And a deliveryodata attempt "outside" with JSON:
      """
      {"LockRequired": true, "LockStatus": true}
      """
    When I GET deliveryodata "/deliveryodata/400449/AttemptLists" as the API user
    Then the deliveryodata JSON field "value.0.ProctorFacingQMControlsUrl" is null
    When I GET the deliveryodata attempt list entity "room-1"
    Then the deliveryodata JSON field "ProctorFacingQMControlsUrl" starts with "http"
    When the proctor opens the controls URL of list "room-1"
    Then the response status is 200
    And the controls answer lists the attempts "in-1,in-2"
    When the proctor does "Unlock" on attempt "in-2" through the controls URL of list "room-1"
    Then the response status is 200
    And the deliveryodata JSON field "LockStatus" is false
    When the proctor does "Unlock" on attempt "outside" through the controls URL of list "room-1"
    Then the response status is 404
    When I GET deliveryodata "/deliveryodata/400449/Attempts?$filter=AttemptListID eq {list}" as the API user
    Then the deliveryodata JSON field "value.0.LockStatus" is true
    And the deliveryodata JSON field "value.1.LockStatus" is false

  @req_DOD-PRO-003 @req_DOD-PRO-001
  Scenario: A list's controls URL opens no other list, and expires
    Given an open deliveryodata attempt list "room-a" at test center 7
    And a deliveryodata attempt "a-1" with JSON:
      """
      {"AttemptListID": {list}, "LockRequired": true, "LockStatus": true}
      """
    And a deliveryodata attempt list "room-b"
    When I GET the deliveryodata attempt list entity "room-a"
    And the proctor presents the controls URL of list "room-a" for list "room-b"
    Then the response status is 403
    And the lobby error code is "signature_invalid"
    When the proctor does "Unlock" on attempt "a-1" through the controls URL of list "room-a"
    Then the response status is 200
    When the proctor does "Unlock" on attempt "a-1" through the controls URL of list "room-a"
    Then the response status is 409
    When the deliveryodata clock advances 14401 seconds
    And the proctor opens the controls URL of list "room-a"
    Then the response status is 403
    And the lobby error code is "link_expired"
