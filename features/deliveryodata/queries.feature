Feature: deliveryodata query options as Web API OData validates them, server-driven paging, seed data

  Background:
    Given a deliveryodata customer with the standard seed

  @req_DOD-QRY-001
  Scenario Outline: $filter compares, combines and negates on the documented filter properties
    Given a locked deliveryodata attempt "q-1"
    And a locked deliveryodata attempt "q-2"
    And a locked deliveryodata attempt "q-3"
    Then the deliveryodata feed "/deliveryodata/400449/Attempts?$filter=<filter>" has <count> entities

    Examples:
      | filter                                          | count |
      | ID eq 2                                         | 1     |
      | ID ne 2                                         | 2     |
      | ID lt 3                                         | 2     |
      | ID le 3                                         | 3     |
      | ID gt 1                                         | 2     |
      | ID ge 3                                         | 1     |
      | ID gt 1 and ID lt 3                             | 1     |
      | ID eq 1 or ExternalAttemptID eq 'q-3'           | 2     |
      | not (ID eq 1)                                   | 2     |
      | ExternalAttemptID eq 'q-2' and (ID eq 1 or ID eq 2) | 1 |
      | AttemptListID eq null                           | 3     |

  @req_DOD-QRY-001 @req_DOD-FMT-003
  Scenario Outline: $filter on an undocumented property or with a bad expression is refused naming it
    Given a locked deliveryodata attempt "q-4"
    When I GET deliveryodata "/deliveryodata/400449/Attempts?$filter=<filter>" as the API user
    Then the response status is 400
    And the deliveryodata error message contains "<names>"

    Examples:
      | filter                      | names              |
      | LockStatus eq true          | LockStatus         |
      | Colour eq 'red'             | Colour             |
      | ID eq 'x'                   | incompatible types |
      | ID eq                       | Syntax error       |

  @req_DOD-QRY-002
  Scenario: Int64 literals take the L suffix
    When I GET deliveryodata "/deliveryodata/400449/Assessments?$filter=ID eq 1234567890876543L" as the API user
    Then the response status is 200
    And the deliveryodata JSON field "value.0.ID" is "1234567890876543"
    When I GET deliveryodata "/deliveryodata/400449/Assessments?$filter=ID eq 1234567890876543" as the API user
    Then the response status is 400
    And the deliveryodata error message contains "Unrecognized 'Edm.Int32' literal"
    When I GET deliveryodata "/deliveryodata/400449/Assessments(1234567890876543L)" as the API user
    Then the response status is 200

  @req_DOD-QRY-003
  Scenario: $expand follows the documented navigation properties two levels deep
    Given an open deliveryodata attempt list "x-list" at test center 7
    And a deliveryodata attempt "x-1" with JSON:
      """
      {"AttemptListID": {list}, "AttemptMetadata": [{"Key": "S1", "Value": "v1"}]}
      """
    When I GET deliveryodata "/deliveryodata/400449/Attempts({attempt})?$expand=AttemptList/Attempts,AttemptMetadata" as the API user
    Then the response status is 200
    And the deliveryodata JSON field "AttemptList.Attempts.0.ExternalAttemptID" is "x-1"
    And the deliveryodata JSON field "AttemptMetadata.0.Value" is "v1"
    When I GET deliveryodata "/deliveryodata/400449/AttemptLists?$expand=Attempts" as the API user
    Then the deliveryodata JSON field "value.0.Attempts.0.ExternalAttemptID" is "x-1"
    When I GET deliveryodata "/deliveryodata/400449/Attempts?$expand=AttemptList/Attempts/AttemptList" as the API user
    Then the response status is 400
    And the deliveryodata answer is an odata.error
    When I GET deliveryodata "/deliveryodata/400449/Attempts?$expand=AnswerUpload" as the API user
    Then the response status is 400
    And the deliveryodata error message contains "AnswerUpload"

  @req_DOD-QRY-004
  Scenario: Server-driven paging hands out 100 entities a page and an odata.nextLink to the rest
    Given 105 deliveryodata attempts with ExternalAttemptIDs prefixed "page"
    When I follow the deliveryodata feed "/deliveryodata/400449/Attempts?$inlinecount=allpages" to its end
    Then the deliveryodata pages held 100,5 entities
    And the deliveryodata pages listed 105 attempts prefixed "page" once each
    And every deliveryodata page has "odata.count" "105"
    When I follow the deliveryodata feed "/deliveryodata/400449/Attempts?$top=102&$skip=2" to its end
    Then the deliveryodata pages held 100,2 entities
    When I follow the deliveryodata feed "/deliveryodata/400449/Attempts?$filter=ID gt 100" to its end
    Then the deliveryodata pages held 5 entities

  @req_DOD-QRY-004
  Scenario: $top and $skip select a window without a next link
    Given a locked deliveryodata attempt "w-1"
    And a locked deliveryodata attempt "w-2"
    And a locked deliveryodata attempt "w-3"
    When I GET deliveryodata "/deliveryodata/400449/Attempts?$top=1&$skip=1" as the API user
    Then the response status is 200
    And the deliveryodata JSON field "value.0.ExternalAttemptID" is "w-2"
    When I follow the deliveryodata feed "/deliveryodata/400449/Attempts?$top=1&$skip=1&$inlinecount=allpages" to its end
    Then the deliveryodata pages held 1 entities
    And every deliveryodata page has "odata.count" "3"
    And the deliveryodata feed "/deliveryodata/400449/Attempts?$top=0" has 0 entities
    When I GET deliveryodata "/deliveryodata/400449/Attempts?$top=-1" as the API user
    Then the response status is 400
    And the deliveryodata error message contains "$top"

  @req_DOD-QRY-005
  Scenario Outline: $orderby on Attempts, $select, $format and unknown $ options are refused
    When I GET deliveryodata "/deliveryodata/400449/<path>" as the API user
    Then the response status is 400
    And the deliveryodata error message contains "<names>"

    Examples:
      | path                                | names     |
      | Attempts?$orderby=ID desc           | OrderBy   |
      | AttemptLists?$orderby=ID            | OrderBy   |
      | AttemptMetadata?$orderby=ID         | OrderBy   |
      | Attempts?$select=ID                 | Select    |
      | Attempts?$format=json               | Format    |
      | Attempts?$colour=red                | $colour   |

  @req_DOD-QRY-005
  Scenario: $orderby on another feed orders by its filter properties
    When I GET deliveryodata "/deliveryodata/400449/Assessments?$orderby=ID desc" as the API user
    Then the response status is 200
    And the deliveryodata JSON field "value.0.ID" is "9788463565326947"
    And the deliveryodata JSON field "value.1.ID" is "1234567890876543"

  @req_DOD-QRY-006
  Scenario Outline: Collection options on an entity URL are refused
    Given a locked deliveryodata attempt "e-1"
    When I GET deliveryodata "/deliveryodata/400449/Attempts({attempt})?<option>" as the API user
    Then the response status is 400
    And the deliveryodata answer is an odata.error

    Examples:
      | option               |
      | $top=1               |
      | $skip=1              |
      | $filter=ID eq 1      |
      | $inlinecount=allpages |
      | $orderby=ID          |

  # examrig's admin door and its generated data (DOD-SEED-001, kind extension)
  @req_DOD-SEED-001 @examrig
  Scenario: Seed data is loaded with OData property names and generated deterministically by seed
    When I seed deliveryodata with JSON:
      """
      {"participants": [{"ID": 123456789, "Name": "grace", "FirstName": "Grace", "LastName": "Hopper"}],
       "monitoringTypes": [{"ID": 9, "Name": "PROCTORED", "RequireQSB": true}]}
      """
    Then the response status is 201
    When I GET deliveryodata "/deliveryodata/400449/Participants(123456789)" as the API user
    Then the deliveryodata JSON field "FirstName" is "Grace"
    When I seed deliveryodata with JSON:
      """
      {"generate": [{"seed": 7, "participants": 5, "testCenters": 2}]}
      """
    Then the response status is 201
    When I keep the deliveryodata feed "/deliveryodata/400449/Participants"
    And I seed deliveryodata with JSON:
      """
      {"generate": [{"seed": 7, "participants": 5, "testCenters": 2}]}
      """
    Then the deliveryodata feed "/deliveryodata/400449/Participants" is the same as the kept one
    And the deliveryodata feed "/deliveryodata/400449/Participants" has 7 entities
    When I seed deliveryodata with JSON:
      """
      {"generate": [{"seed": 8, "participants": 5}]}
      """
    Then the deliveryodata feed "/deliveryodata/400449/Participants" is not the same as the kept one

  @harness @examrig @req_DOD-SEED-001
  Scenario Outline: Bad seed data is refused naming the field
    When I seed deliveryodata with JSON:
      """
      <body>
      """
    Then the response status is 400
    And the response JSON field "error.message" contains "<field>"

    Examples:
      | body                                                     | field          |
      | {"students": []}                                         | students       |
      | {"participants": [{"Name": "no id"}]}                    | ID             |
      | {"participants": [{"ID": 1, "Shoe": 9}]}                 | Shoe           |
      | {"generate": [{"seed": 1, "participants": -1}]}          | participants   |

  # examrig's wording where no source gives the service's (DOD-CONV-001)
  @req_DOD-CONV-001 @examrig
  Scenario: examrig's convention: An expansion three levels deep is refused saying "depth"
    When I GET deliveryodata "/deliveryodata/400449/Attempts?$expand=AttemptList/Attempts/AttemptList" as the API user
    Then the response status is 400
    And the deliveryodata error message contains "depth"

  @req_DOD-CONV-001 @examrig
  Scenario: examrig's convention: A collection option on an entity URL is refused as "not a collection"
    Given a locked deliveryodata attempt "e-1"
    When I GET deliveryodata "/deliveryodata/400449/Attempts({attempt})?$top=1" as the API user
    Then the response status is 400
    And the deliveryodata error message contains "not a collection"
