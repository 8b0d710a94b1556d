Feature: Launching a proctored exam through deliveryodata (qm-proctoring-exams.rst)
  A portal creates a locked attempt, hands the proctor URL to the proctoring system, the
  candidate enters the lobby, the proctor unlocks, the candidate starts, and the proctor
  pauses, resumes, adds time and terminates. Every event lands in the SessionAuditLog.

  Background:
    Given a deliveryodata customer with the standard seed
    And the deliveryodata clock is frozen at "2026-03-02T09:00:00.5Z"

  @req_DOD-ATT-001 @req_DOD-ATT-007 @req_DOD-URL-001 @req_DOD-LOB-002 @req_DOD-LOB-003 @req_DOD-PRO-002 @req_DOD-SAL-001 @req_DOD-FMT-001 @req_DOD-FMT-004 @req_DOD-RES-001
  Scenario: The whole proctored flow, from creation to termination
    When I POST to deliveryodata "/deliveryodata/400449/Attempts" as the API user with JSON:
      """
      {"ExternalAttemptID": "{81CB516C-CD4D-41A6-A359-25824F0C888D}", "ParticipantID": 987654321,
       "AssessmentID": "1234567890876543", "LockRequired": true, "LockStatus": true}
      """
    Then the response status is 201
    And the response header "Location" contains "/deliveryodata/400449/Attempts("
    And the deliveryodata JSON field "ParticipantFacingQMLobbyUrl" is null
    And the deliveryodata JSON field "ProctorFacingQMControlsWidgetUrl" starts with "http"
    And the deliveryodata JSON field "ResultID" is null
    And the deliveryodata JSON field "AssessmentID" is "1234567890876543"
    And the deliveryodata JSON field "LastModifiedDateTime" is "2026-03-02T09:00:00.5Z"
    Given a locked deliveryodata attempt "portal-1"
    And the deliveryodata clock advances 5 seconds
    When I PATCH to deliveryodata "/deliveryodata/400449/Attempts({attempt})" as the API user with JSON:
      """
      {"ParticipantFacingProctorSystemWidgetUrl": "https://www.proctor-service.com/candidate-controls"}
      """
    Then the response status is 204
    And the response body is empty
    When I GET the deliveryodata attempt entity
    Then the deliveryodata JSON field "ParticipantFacingProctorSystemWidgetUrl" is "https://www.proctor-service.com/candidate-controls"
    And the deliveryodata JSON field "LastModifiedDateTime" is "2026-03-02T09:00:05.5Z"
    And the deliveryodata JSON field "ParticipantFacingQMLobbyUrl" starts with "http"
    When the participant opens the lobby URL
    Then the response status is 200
    And the deliveryodata JSON field "LockStatus" is true
    And the deliveryodata JSON field "ProctorSystemWidgetUrl" is "https://www.proctor-service.com/candidate-controls"
    When the participant starts the assessment
    Then the response status is 409
    And the lobby error code is "state_conflict"
    When the proctor does "Unlock"
    Then the response status is 200
    And the deliveryodata JSON field "LockStatus" is false
    When the participant starts the assessment
    Then the response status is 200
    And the deliveryodata JSON field "ResultStatus" is 1
    When I GET deliveryodata "/deliveryodata/400449/Attempts({attempt})?$expand=Result" as the API user
    Then the deliveryodata JSON field "Result.Status" is 1
    And the deliveryodata JSON field "Result.WhenStarted" is "2026-03-02T09:00:05.5"
    And the deliveryodata JSON field "Result.Special1" is "from-participant"
    When the proctor does "Pause"
    Then the deliveryodata JSON field "ResultStatus" is 6
    When the proctor does "Pause"
    Then the response status is 409
    When the proctor does "Resume"
    Then the deliveryodata JSON field "ResultStatus" is 1
    When the proctor adds 10 minutes
    Then the deliveryodata JSON field "ExtraTime" is 10
    When the proctor does "Terminate"
    Then the deliveryodata JSON field "ResultStatus" is 7
    When the proctor does "Resume"
    Then the response status is 409
    When I GET deliveryodata "/deliveryodata/400449/Results({result})" as the API user
    Then the deliveryodata JSON field "Status" is 7
    And the deliveryodata JSON field "ExtraTime" is 10
    And the deliveryodata JSON field "StillGoing" is false
    And the session audit log of the attempt lists "AttemptCreated,LobbyEntered,Unlocked,Started,Paused,Resumed,TimeAdded,Terminated"

  @req_DOD-LOB-003 @req_DOD-ATT-008
  Scenario: An unlock code starts the assessment without the proctor, until it expires
    Given a deliveryodata attempt "code-1" with JSON:
      """
      {"LockRequired": true, "LockStatus": true, "UnlockCode": "123456"}
      """
    Then the deliveryodata JSON field "UnlockCodeExpiresDateTime" is "2026-03-02T09:15:00.5Z"
    Given I GET the deliveryodata attempt entity
    And the participant opens the lobby URL
    When the participant starts the assessment with unlock code "654321"
    Then the response status is 403
    And the lobby error code is "unlock_code_invalid"
    When the deliveryodata clock advances 901 seconds
    And the participant starts the assessment with unlock code "123456"
    Then the response status is 403
    And the response JSON field "error.field" is "UnlockCodeExpiresDateTime"
    When I PATCH to deliveryodata "/deliveryodata/400449/Attempts({attempt})" as the API user with JSON:
      """
      {"UnlockCode": "777777"}
      """
    Then the response status is 204
    When the participant starts the assessment with unlock code "777777"
    Then the response status is 200
    And the deliveryodata JSON field "LockStatus" is true
    And the deliveryodata JSON field "ResultStatus" is 1

  @req_DOD-META-001 @req_DOD-META-002
  Scenario: Metadata S1 wins over the participant mapping in the result's special fields
    Given a deliveryodata attempt "meta-1" with JSON:
      """
      {"LockRequired": false, "LockStatus": false, "AttemptMetadata": [{"Key": "S1", "Value": "Help"}, {"Key": "Room", "Value": "12"}]}
      """
    When I GET deliveryodata "/deliveryodata/400449/AttemptMetadata?$filter=AttemptId eq {attempt}" as the API user
    Then the deliveryodata JSON field "value.0.Key" is "S1"
    And the deliveryodata JSON field "value.1.Value" is "12"
    Given I GET the deliveryodata attempt entity
    And the participant opens the lobby URL
    When the participant starts the assessment
    And I GET deliveryodata "/deliveryodata/400449/Results({result})" as the API user
    Then the deliveryodata JSON field "Special1" is "Help"
    And the deliveryodata JSON field "Special2" is "dept-2"

  @req_DOD-LOB-004
  Scenario Outline: The lobby reports the system check to show
    Given a deliveryodata attempt "check-<n>" with JSON:
      """
      <extra>
      """
    And I GET the deliveryodata attempt entity
    When the participant opens the lobby URL
    Then the deliveryodata JSON field "SystemCheckRequired" is <required>
    And the deliveryodata JSON field "SystemCheckUrl" is <url>

    Examples:
      | n | extra                                                         | required | url                         |
      | 1 | {"ParticipantSystemCheckUrl": "about:blank"}                  | false    | null                        |
      | 2 | {}                                                            | true     | null                        |
      | 3 | {"ParticipantSystemCheckUrl": "https://check.example/"}       | true     | "https://check.example/"    |
      | 4 | {"MonitoringTypeID": 5}                                       | false    | null                        |
