Feature: The request examples of the deliveryodata documents, read as the real service reads them
  The service is ASP.NET Web API OData 5.x on ODataLib 5.x: its JSON reader takes property names without quotes
  (ParseName) and converts a JSON string to the property's type (ODataJsonLightReaderUtils.ConvertValue), so the
  documents' examples are accepted exactly as written (OData/odata.net tag 5.6.4; docs/deliveryodata.md).

  Background:
    Given a deliveryodata customer with the standard seed
    And the deliveryodata clock is frozen at "2026-03-02T09:00:00Z"

  @req_DOD-ATT-011 @req_DOD-ATT-001
  Scenario: The proctoring document's POST example, ParticipantID a JSON string, creates the attempt
    When I POST to deliveryodata "/deliveryodata/400449/Attempts" as the API user with JSON:
      """
      {
        "ExternalAttemptID": "1000",
        "AssessmentID": "1234567890876543",
        "ParticipantID": "987654321",
        "LockStatus": true,
        "LockRequired": true
      }
      """
    Then the response status is 201
    And the deliveryodata JSON field "ParticipantID" is 987654321
    And the deliveryodata JSON field "AssessmentID" is "1234567890876543"
    And the deliveryodata JSON field "LockStatus" is true

  @req_DOD-ATT-011
  Scenario Outline: A JSON string converts to the property's type as .NET parses it, or is refused naming it
    When I POST to deliveryodata "/deliveryodata/400449/Attempts" as the API user with JSON:
      """
      {"ExternalAttemptID": "<external>", "ParticipantID": <participant>, "AssessmentID": "1234567890876543",
       "LockRequired": <lock>}
      """
    Then the response status is <status>

    Examples:
      | external | participant     | lock    | status |
      | s-1      | " +987654321 "  | "True"  | 201    |
      | s-2      | "987654321"     | "false" | 201    |
      | s-3      | "987654321.0"   | true    | 400    |
      | s-4      | "0x3ADE68B1"    | true    | 400    |
      | s-5      | "987654321"     | "1"     | 400    |

  @req_DOD-ATT-012 @req_DOD-META-001
  Scenario: The feeds document's POST example, names without quotes, creates the attempt and its metadata
    When I POST to deliveryodata "/deliveryodata/400449/Attempts" as the API user with JSON:
      """
      {
          ExternalAttemptID: "Demo/2016-10-07.3",
          ParticipantID: 987654321,
          AssessmentID: "1234567890876543",
          AttemptMetadata: [
              {
                  Key: "S1",
                  Value: "Help"
              },
              {
                  Key: "S2",
                  Value: "Me!"
              }
          ]
      }
      """
    Then the response status is 201
    And the deliveryodata JSON field "ExternalAttemptID" is "Demo/2016-10-07.3"
    When I GET deliveryodata "/deliveryodata/400449/Attempts?$filter=ExternalAttemptID eq 'Demo/2016-10-07.3'&$expand=AttemptMetadata" as the API user
    Then the deliveryodata JSON field "value.0.AttemptMetadata.1.Value" is "Me!"

  @req_DOD-ATT-012
  Scenario Outline: Single quotes are read too, and what ODataLib's reader refuses is refused
    When I POST to deliveryodata "/deliveryodata/400449/Attempts" as the API user with JSON:
      """
      <body>
      """
    Then the response status is <status>

    Examples:
      | body                                                                                          | status |
      | {'ExternalAttemptID': 'q-1', 'ParticipantID': 987654321, 'AssessmentID': '1234567890876543'}  | 201    |
      | {ExternalAttemptID: 'it\'s', ParticipantID: 987654321, AssessmentID: "1234567890876543"}      | 201    |
      | {ExternalAttemptID: "q-3", ParticipantID: 987654321, AssessmentID: "1234567890876543",}       | 400    |
      | {ExternalAttemptID: q-4, ParticipantID: 987654321, AssessmentID: "1234567890876543"}          | 400    |
      | {"ExternalAttemptID": "q-5" /* a comment */, "ParticipantID": 987654321}                      | 400    |

  @req_DOD-ATT-013 @req_DOD-LOB-003
  Scenario: Starting sets ResultID and LastModifiedDateTime; unlocking and the lobby's re-lock set it too
    Given a locked deliveryodata attempt "lm-1"
    And I GET the deliveryodata attempt entity
    And the participant opens the lobby URL
    And the deliveryodata clock advances 5 seconds
    When the proctor does "Unlock"
    And I GET the deliveryodata attempt entity
    Then the deliveryodata JSON field "LastModifiedDateTime" is "2026-03-02T09:00:05Z"
    Given the deliveryodata clock advances 5 seconds
    When the participant starts the assessment
    And I GET the deliveryodata attempt entity
    Then the deliveryodata JSON field "ResultID" is {result}
    And the deliveryodata JSON field "LastModifiedDateTime" is "2026-03-02T09:00:10Z"

  @req_DOD-ATT-013 @req_DOD-LOB-002
  Scenario: The lobby's re-lock of an unlocked attempt sets LastModifiedDateTime
    Given a locked deliveryodata attempt "lm-2"
    And I GET the deliveryodata attempt entity
    And the proctor does "Unlock"
    And the deliveryodata clock advances 7 seconds
    When the participant opens the lobby URL
    And I GET the deliveryodata attempt entity
    Then the deliveryodata JSON field "LockStatus" is true
    And the deliveryodata JSON field "LastModifiedDateTime" is "2026-03-02T09:00:07Z"

  @req_DOD-PRO-004
  Scenario: A control the proctor widget does not have is 404 naming it
    Given a locked deliveryodata attempt "pa-1"
    And I GET the deliveryodata attempt entity
    When the proctor does "Reboot"
    Then the response status is 404
    And the lobby error code is "unknown_action"
