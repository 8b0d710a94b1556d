Feature: The signed lobby and proctor URLs and what stands behind them

  Background:
    Given a deliveryodata customer with the standard seed
    And the deliveryodata clock is frozen at "2026-03-02T09:00:00Z"
    And a locked deliveryodata attempt "url-1"
    And I GET the deliveryodata attempt entity

  @req_DOD-LOB-001
  Scenario: A lobby URL works once only
    When the participant opens the lobby URL
    Then the response status is 200
    When the participant opens the lobby URL
    Then the response status is 403
    And the lobby error code is "link_used"

  @req_DOD-LOB-001
  Scenario: A lobby URL expires after 60 seconds
    When the deliveryodata clock advances 61 seconds
    And the participant opens the lobby URL
    Then the response status is 403
    And the lobby error code is "link_expired"

  @req_DOD-LOB-001
  Scenario: A lobby URL still works at 60 seconds
    When the deliveryodata clock advances 60 seconds
    And the participant opens the lobby URL
    Then the response status is 200

  @req_DOD-LOB-001
  Scenario Outline: A tampered lobby URL is refused
    When the participant opens the lobby URL with "<param>" changed to "<value>"
    Then the response status is 403
    And the lobby error code is "<code>"

    Examples:
      | param     | value                                                            | code              |
      | nonce     | 00000000-0000-4000-8000-000000000000                             | signature_invalid |
      | timestamp | 2026-03-02T09:00:30.0000000Z                                     | signature_invalid |
      | signature | 0000000000000000000000000000000000000000000000000000000000000000 | signature_invalid |
      | role      | proctor                                                          | wrong_role        |

  @req_DOD-PRO-001
  Scenario: A participant presenting the proctor URL cannot enter the lobby or control the attempt
    When the participant presents the proctor URL at the lobby
    Then the response status is 403
    And the lobby error code is "wrong_role"
    When the participant uses the lobby URL for a proctor control
    Then the response status is 403
    And the lobby error code is "wrong_role"

  @req_DOD-PRO-001
  Scenario: The proctor URL is reusable within its lifetime and not after it
    When the proctor does "Index"
    Then the response status is 200
    When the deliveryodata clock advances 3600 seconds
    And the proctor does "Unlock"
    Then the response status is 200
    When the proctor does "Unlock"
    Then the response status is 409
    When the deliveryodata clock advances 14400 seconds
    And the proctor does "Lock"
    Then the response status is 403
    And the lobby error code is "link_expired"

  @req_DOD-LOB-002
  Scenario: Re-entering the lobby locks it again
    Given the participant opens the lobby URL
    And the proctor does "Unlock"
    When I GET the deliveryodata attempt entity
    And the participant opens the lobby URL
    Then the deliveryodata JSON field "LockStatus" is true

  @req_DOD-PRO-002
  Scenario: Controls on a result that has not started are refused
    When the proctor does "Pause"
    Then the response status is 409
    When the proctor adds 5 minutes
    Then the response status is 409

  @req_DOD-URL-001
  Scenario: The URLs are fresh on every entity GET and null in collections and expansions
    When I GET deliveryodata "/deliveryodata/400449/Attempts" as the API user
    Then the deliveryodata JSON field "value.0.ParticipantFacingQMLobbyUrl" is null
    And the deliveryodata JSON field "value.0.ProctorFacingQMControlsWidgetUrl" is null
    When I GET deliveryodata "/deliveryodata/400449/Attempts?$filter=ID eq {attempt}" as the API user
    Then the deliveryodata JSON field "value.0.ProctorFacingQMControlsWidgetUrl" is null
    When I GET deliveryodata "/deliveryodata/400449/AttemptMetadata?$expand=Attempt" as the API user
    Then the response status is 200
    Given the participant opens the lobby URL
    When I GET the deliveryodata attempt entity
    And the participant opens the lobby URL
    Then the response status is 200

  @req_DOD-URL-002
  Scenario: A secure assessment gets a qmsb: lobby URL
    Given a deliveryodata attempt "secure-1" with JSON:
      """
      {"AssessmentID": "9788463565326947", "LockRequired": true, "LockStatus": true}
      """
    When I GET the deliveryodata attempt entity
    Then the deliveryodata JSON field "ParticipantFacingQMLobbyUrl" starts with "qmsb:url="
    When the participant opens the lobby URL
    Then the response status is 200

  @req_DOD-DIS-001
  Scenario: A disabled attempt cannot enter the lobby
    Given I PATCH to deliveryodata "/deliveryodata/400449/Attempts({attempt})" as the API user with JSON:
      """
      {"Disabled": true}
      """
    When the participant opens the lobby URL
    Then the response status is 409
