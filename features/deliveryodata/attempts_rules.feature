Feature: deliveryodata refuses what the real service refuses, naming the property

  Background:
    Given a deliveryodata customer with the standard seed

  @req_DOD-AUTH-001 @req_DOD-FMT-003
  Scenario Outline: Missing or wrong credentials get 401 with a Basic challenge
    When I GET deliveryodata "/deliveryodata/400449/Attempts" with credentials "<user>:<password>"
    Then the response status is 401
    And the response header "WWW-Authenticate" contains "Basic"
    And the deliveryodata answer is an odata.error

    Examples:
      | user     | password |
      | examrig  | wrong    |
      | other    | examrig  |

  @req_DOD-AUTH-001
  Scenario: No credentials at all get 401
    When I GET deliveryodata "/deliveryodata/400449/$metadata" without credentials
    Then the response status is 401
    And the response header "WWW-Authenticate" contains "Basic"

  @req_DOD-AUTH-002
  Scenario: An unknown customer area is not found
    When I GET deliveryodata "/deliveryodata/999999/Attempts" as the API user
    Then the response status is 404
    And the deliveryodata error message contains "999999"

  @req_DOD-FMT-002
  Scenario: The service document and $metadata list every entity set
    When I GET deliveryodata "/deliveryodata/400449/" as the API user
    Then the response status is 200
    When I GET deliveryodata "/deliveryodata/400449/$metadata" as the API user
    Then the response status is 200
    And the response header "Content-Type" contains "application/xml"

  @req_DOD-ATT-003
  Scenario: A duplicate ExternalAttemptID is refused
    Given a locked deliveryodata attempt "dup-1"
    When I POST to deliveryodata "/deliveryodata/400449/Attempts" as the API user with JSON:
      """
      {"ExternalAttemptID": "dup-1", "ParticipantID": 987654321, "AssessmentID": "1234567890876543"}
      """
    Then the response status is 409
    And the deliveryodata error message contains "ExternalAttemptID"
    And the deliveryodata feed "/deliveryodata/400449/Attempts?$filter=ExternalAttemptID eq 'dup-1'" has 1 entities

  @req_DOD-ATT-003
  Scenario: Two concurrent POSTs with one ExternalAttemptID create exactly one attempt
    When two deliveryodata POSTs of attempt "race-1" race
    Then exactly one racing POST was answered 201 and the other 409
    And the deliveryodata feed "/deliveryodata/400449/Attempts?$filter=ExternalAttemptID eq 'race-1'" has 1 entities

  @req_DOD-ATT-002 @req_DOD-ATT-004 @req_DOD-ATT-009 @req_DOD-ATT-011 @req_DOD-ATT-006 @req_DOD-FMT-003 @req_DOD-LEN-001
  Scenario Outline: A bad attempt is refused with 400 naming the property
    When I POST to deliveryodata "/deliveryodata/400449/Attempts" as the API user with JSON:
      """
      <body>
      """
    Then the response status is 400
    And the deliveryodata error message contains "<property>"
    And the deliveryodata feed "/deliveryodata/400449/Attempts" has 0 entities

    Examples:
      | body                                                                                                                     | property             |
      | {"ParticipantID": 987654321, "AssessmentID": "1234567890876543"}                                                          | ExternalAttemptID    |
      | {"ExternalAttemptID": null, "ParticipantID": 987654321, "AssessmentID": "1234567890876543"}                               | ExternalAttemptID    |
      | {"ExternalAttemptID": "x12345678901234567890123456789012345678901234567890123456789012345", "ParticipantID": 987654321, "AssessmentID": "1234567890876543"} | maximum length of 64 |
      | {"ExternalAttemptID": "café", "ParticipantID": 987654321, "AssessmentID": "1234567890876543"}                             | ASCII                |
      | {"ExternalAttemptID": "a1", "AssessmentID": "1234567890876543"}                                                           | ParticipantID        |
      | {"ExternalAttemptID": "a1", "ParticipantID": null, "AssessmentID": "1234567890876543"}                                    | ParticipantID        |
      | {"ExternalAttemptID": "a1", "ParticipantID": 987654321}                                                                   | AssessmentID         |
      | {"ExternalAttemptID": "a1", "ParticipantID": 111, "AssessmentID": "1234567890876543"}                                     | ParticipantID        |
      | {"ExternalAttemptID": "a1", "ParticipantID": 987654321, "AssessmentID": "42"}                                             | AssessmentID         |
      | {"ExternalAttemptID": "a1", "ParticipantID": 987654321, "AssessmentID": "1234567890876543", "MonitoringTypeID": 99}       | MonitoringTypeID     |
      | {"ExternalAttemptID": "a1", "ParticipantID": 987654321, "AssessmentID": "1234567890876543", "AttemptListID": 99}          | AttemptListID        |
      | {"ExternalAttemptID": "a1", "ParticipantID": 987654321, "AssessmentID": "1234567890876543", "AssessmentSnapshotID": 3}    | AssessmentSnapshotID |
      | {"ExternalAttemptID": "a1", "ParticipantID": "987,654,321", "AssessmentID": "1234567890876543"}                           | ParticipantID        |
      | {"ExternalAttemptID": "a1", "ParticipantID": 987654321, "AssessmentID": 1234567890876543}                                 | must be quoted       |
      | {"ExternalAttemptID": 17, "ParticipantID": 987654321, "AssessmentID": "1234567890876543"}                                 | ExternalAttemptID    |
      | {"ExternalAttemptID": "a1", "ParticipantID": 987654321, "AssessmentID": "1234567890876543", "LockRequired": "yes"}        | LockRequired         |
      | {"ExternalAttemptID": "a1", "ParticipantID": 987654321, "AssessmentID": "1234567890876543", "Colour": "red"}              | Colour               |
      | {"ExternalAttemptID": "a1", "ParticipantID": 987654321, "AssessmentID": "1234567890876543", "Language": "de-DE"}          | Language             |
      | {"ExternalAttemptID": "a1", "ParticipantID": 987654321, "AssessmentID": "1234567890876543", "Language": "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"} | Language must be a string with a maximum length of 35 |
      | {"ExternalAttemptID": "a1", "ParticipantID": 4294967296, "AssessmentID": "1234567890876543"}                              | ParticipantID        |
      | {"ExternalAttemptID": "a1", "ParticipantID": 987654321, "AssessmentID": "1234567890876543", "AttemptMetadata": [{"Key": "S1"}]} | Value          |

  @req_DOD-ATT-010
  Scenario: Read-only properties in the body are ignored and set by the server
    Given the deliveryodata clock is frozen at "2026-03-02T09:00:00Z"
    When I POST to deliveryodata "/deliveryodata/400449/Attempts" as the API user with JSON:
      """
      {"ExternalAttemptID": "ro-1", "ParticipantID": 987654321, "AssessmentID": "1234567890876543", "ID": 5000,
       "ResultID": 77, "LastModifiedDateTime": "2001-01-01T00:00:00Z", "ParticipantFacingQMLobbyUrl": "https://evil/"}
      """
    Then the response status is 201
    And the deliveryodata JSON field "ID" is 1
    And the deliveryodata JSON field "ResultID" is null
    And the deliveryodata JSON field "LastModifiedDateTime" is "2026-03-02T09:00:00Z"
    And the deliveryodata JSON field "ParticipantFacingQMLobbyUrl" is null

  @req_DOD-ATT-005
  Scenario Outline: An immutable property cannot be PATCHed
    Given a locked deliveryodata attempt "imm-1"
    When I PATCH to deliveryodata "/deliveryodata/400449/Attempts({attempt})" as the API user with JSON:
      """
      <body>
      """
    Then the response status is 400
    And the deliveryodata error message contains "<property>"

    Examples:
      | body                                  | property             |
      | {"ParticipantID": 111}                | ParticipantID        |
      | {"AssessmentID": "9788463565326947"}  | AssessmentID         |
      | {"AssessmentSnapshotID": 4}           | AssessmentSnapshotID |
      | {"Language": "fr-FR"}                 | Language             |
      | {"LockRequired": false}               | LockRequired         |
      | {"ExternalAttemptID": "other"}        | ExternalAttemptID    |

  @req_DOD-ATT-005 @req_DOD-ATT-007
  Scenario: Sending an immutable's current value with a patchable change is accepted
    Given a locked deliveryodata attempt "imm-2"
    When I MERGE to deliveryodata "/deliveryodata/400449/Attempts({attempt})" as the API user with JSON:
      """
      {"ParticipantID": 987654321, "LockStatus": false, "Disabled": true}
      """
    Then the response status is 204
    When I GET the deliveryodata attempt entity
    Then the deliveryodata JSON field "LockStatus" is false
    And the deliveryodata JSON field "Disabled" is true

  @req_DOD-RES-001
  Scenario: Result status transitions through OData PATCH
    Given a deliveryodata attempt "res-1" with JSON:
      """
      {}
      """
    And I GET the deliveryodata attempt entity
    And the participant opens the lobby URL
    And the participant starts the assessment
    When I PATCH to deliveryodata "/deliveryodata/400449/Results({result})" as the API user with JSON:
      """
      {"Status": 2}
      """
    Then the response status is 400
    And the deliveryodata error message contains "Status"
    When I PATCH to deliveryodata "/deliveryodata/400449/Results({result})" as the API user with JSON:
      """
      {"Status": 6, "ExtraTime": 5}
      """
    Then the response status is 204
    When I PATCH to deliveryodata "/deliveryodata/400449/Results({result})" as the API user with JSON:
      """
      {"TotalScore": 5}
      """
    Then the response status is 400
    And the deliveryodata error message contains "TotalScore"
    When I GET deliveryodata "/deliveryodata/400449/Results({result})" as the API user
    Then the deliveryodata JSON field "Status" is 6
    And the deliveryodata JSON field "ExtraTime" is 5

  # examrig's wording where no source gives the service's (DOD-CONV-001): Web API's [Authorize] text
  @req_DOD-CONV-001 @examrig
  Scenario: examrig's convention: Wrong credentials are refused with Web API's "Authorization has been denied"
    When I GET deliveryodata "/deliveryodata/400449/Attempts" with credentials "examrig:wrong"
    Then the response status is 401
    And the deliveryodata error message contains "Authorization has been denied"
