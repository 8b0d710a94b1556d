Feature: The data warehouse receives scored TRTs from TIS
  DW1/DW2 take a POST of the scored TRT (application/xml); RDW's /exams/imports answers 202,
  de-duplicates by MD5 and requires a token whose user has ASMTDATALOAD (checked with openam).

  @req_DW-RCV-001 @state_hook
  Scenario: DW1 takes a valid scored TRT
    When TIS posts the sample TRT "scored-IAB-MATH-G4.status-completed.RDW.xml" to dw "/dw1/services/xml"
    Then the response status is 200
    And the dw holds 1 receipts for "DW1" with status "PROCESSED"

  @req_DW-CHK-001 @state_hook
  Scenario: DW2 refuses the RDW negative fixture
    When TIS posts the sample TRT "negative-ICA-ELA-G6-exam-errors.RDW.xml" to dw "/dw2/services/xml"
    Then the response status is 400
    And the dw holds 1 receipts for "DW2" with status "INVALID"

  @req_DW-CHK-001 @state_hook
  Scenario Outline: A single bad Overall score in a good TRT is refused
    When TIS posts the sample TRT "small-ICA-G11-scored.RDW.xml" to dw "/dw1/services/xml" with the "<label>" score of "Overall" set to "<value>"
    Then the response status is 400
    And the dw holds 1 receipts for "DW1" with status "INVALID"

    Examples:
      | label            | value    |
      | ScaleScore       | -1       |
      | ScaleScore       | bad data |
      | PerformanceLevel | 0        |

  # examrig's wording of the warehouse's messages (RDW's are in StudentExamProcessorIT, not in ../shared)
  @req_DW-CONV-002 @examrig
  Scenario Outline: examrig's convention: DW2 refuses the RDW negative fixture with the warehouse's messages
    When TIS posts the sample TRT "negative-ICA-ELA-G6-exam-errors.RDW.xml" to dw "/dw2/services/xml"
    Then the response status is 400
    And the dw refusal names "<text>"
    And the dw holds 1 receipts for "DW2" with status "INVALID"

    Examples:
      | text                                                                                  |
      | Score[measureOf=Overall, measureLabel=ScaleScore]@value: -1 is out of range           |
      | Score[measureOf=4-CR, measureLabel=ScaleScore]@value: 'bad data' is not a number      |
      | Score[measureOf=2-W, measureLabel=PerformanceLevel]@value: '0' is not a performance level |
      | Test@academicYear: 4294967295 is not a valid academic year                             |
      | Opportunity@dateCompleted: empty                                                      |

  @req_DW-CHK-002
  Scenario: DW1 refuses a body that is not XML
    When I POST to dw "/dw1/services/xml" with content type "application/xml" and body:
      """
      not xml at all
      """
    Then the response status is 400
    And the dw holds 1 receipts for "DW1" with status "BAD_FORMAT"

  @req_DW-IMP-001 @req_DW-IMP-002
  Scenario: An import is accepted with 202 and a duplicate returns the first record
    Given a dw loader token for an openam user with roles "ASMTDATALOAD"
    When I import the sample TRT "small-ICA-G11-scored.RDW.xml" into dw
    Then the response status is 202
    And the response JSON field "status" is "ACCEPTED"
    And the response JSON field "creator" is "loader@example.org"
    When I import the sample TRT "small-ICA-G11-scored.RDW.xml" into dw as multipart part "file"
    Then the response status is 202
    And both dw imports are the same record
    And the dw holds 1 receipts for "imports" with status "PROCESSED"

  @req_DW-IMP-003
  Scenario: An import by a user without ASMTDATALOAD is forbidden
    Given a dw loader token for an openam user with roles "TIS Admin"
    When I import the sample TRT "small-ICA-G11-scored.RDW.xml" into dw
    Then the response status is 403
    And the dw holds 0 receipts for "imports" with status "PROCESSED"

  @req_DW-IMP-003
  Scenario: An import without a token is unauthorized
    When I import the sample TRT "small-ICA-G11-scored.RDW.xml" into dw
    Then the response status is 401

  @req_DW-IMP-001 @req_DW-CHK-002
  Scenario: A non-XML import is accepted, then marked BAD_FORMAT
    Given a dw loader token for an openam user with roles "ASMTDATALOAD"
    When I import into dw the body:
      """
      hello
      """
    Then the response status is 202
    And the dw import has status "BAD_FORMAT"

  @req_DW-CHK-001
  Scenario: An item the warehouse does not know is refused
    Given a dw loader token for an openam user with roles "ASMTDATALOAD"
    And the dw knows only the items "187-1234"
    When I import the sample TRT "small-ICA-G11-scored.RDW.xml" into dw
    Then the response status is 202
    And the dw import has status "INVALID"

  @req_DW-IMP-003
  Scenario: An import with a token openam does not know is unauthorized
    Given a dw loader token that openam does not know
    When I import the sample TRT "small-ICA-G11-scored.RDW.xml" into dw
    Then the response status is 401
    And the dw holds 0 receipts for "imports" with status "PROCESSED"

  @req_DW-EXAM-001 @state_hook
  Scenario: A TRT with status reset deletes the exam
    Given a dw loader token for an openam user with roles "ASMTDATALOAD"
    When I import the sample TRT "scored-IAB-MATH-G4.status-completed.RDW.xml" into dw
    Then the response status is 202
    And the dw exam "41345bd8-0b4b-43d3-8de5-0c281582e12d" is live
    When I import the sample TRT "status-reset-IAB-MATH-G4.RDW.xml" into dw
    Then the response status is 202
    And the dw exam "41345bd8-0b4b-43d3-8de5-0c281582e12d" is deleted
    And the dw holds 2 receipts for "imports" with status "PROCESSED"

  @req_DW-CHK-003
  Scenario Outline: Claim, target and trait scores are checked too
    When TIS posts the sample TRT "<sample>" to dw "/dw1/services/xml" with the "<label>" score of "<measure>" set to "<value>"
    Then the response status is 400
    And the dw holds 1 receipts for "DW1" with status "INVALID"

    Examples:
      | sample                                   | measure   | label                            | value |
      | small-ICA-G11-scored.RDW.xml             | C1\|T1\|1-2 | StudentRelativeResidualScore     | high  |
      | small-ICA-G11-scored.RDW.xml             | C1\|T2\|A   | StandardMetRelativeResidualScore | n/a   |
      | scored-combined-ICA-MATH-G4.RDW.xml      | SOCK_2    | ThetaScore                       | x     |
      | scored-combined-ICA-MATH-G4.RDW.xml      | SOCK_2    | RawScore                         | -7    |
      | scored-combined-ICA-MATH-G4.RDW.xml      | SOCK_2    | PerformanceLevel                 | 7     |

  @req_DW-CONV-002 @examrig
  Scenario Outline: examrig's convention: Claim, target and trait scores are refused naming the Score
    When TIS posts the sample TRT "<sample>" to dw "/dw1/services/xml" with the "<label>" score of "<measure>" set to "<value>"
    Then the response status is 400
    And the dw refusal names "Score[measureOf=<measure>, measureLabel=<label>]@value: '<value>' is not <what>"
    And the dw holds 1 receipts for "DW1" with status "INVALID"

    Examples:
      | sample                                   | measure   | label                            | value | what                |
      | small-ICA-G11-scored.RDW.xml             | C1\|T1\|1-2 | StudentRelativeResidualScore     | high  | a number            |
      | small-ICA-G11-scored.RDW.xml             | C1\|T2\|A   | StandardMetRelativeResidualScore | n/a   | a number            |
      | scored-combined-ICA-MATH-G4.RDW.xml      | SOCK_2    | ThetaScore                       | x     | a number            |
      | scored-combined-ICA-MATH-G4.RDW.xml      | SOCK_2    | RawScore                         | -7    | a raw score         |
      | scored-combined-ICA-MATH-G4.RDW.xml      | SOCK_2    | PerformanceLevel                 | 7     | a performance level |

  # examrig's conventions on the scenarios above (the field key ...): claimed by DW-CONV-001
  @req_DW-CONV-001 @examrig
  Scenario: examrig's convention: An import without a token is unauthorized
    When I import the sample TRT "small-ICA-G11-scored.RDW.xml" into dw
    Then the response status is 401
    And the response JSON field "field" is "Authorization"

  # examrig's conventions on the scenarios above (the field key ...): claimed by CORE-JRN-001
  @req_CORE-JRN-001 @req_DW-ADM-001 @examrig
  Scenario: examrig's convention: DW1 takes a valid scored TRT
    When TIS posts the sample TRT "scored-IAB-MATH-G4.status-completed.RDW.xml" to dw "/dw1/services/xml"
    Then the response status is 200
    And the dw holds 1 receipts for "DW1" with status "PROCESSED"
    And the dw journal shows 1 inbound request to "/dw1/services/xml" answered 200

  @req_DW-CONV-002 @examrig
  Scenario: examrig's convention: An import with a token openam does not know is unauthorized with Spring's message
    Given a dw loader token that openam does not know
    When I import the sample TRT "small-ICA-G11-scored.RDW.xml" into dw
    Then the response status is 401
    And the response JSON field "message" contains "Invalid access token"

  # examrig's admin door: what a receiver refused, and why, is queryable (DW-ADM-001)
  @req_DW-ADM-001 @examrig
  Scenario: examrig's admin door: a refused TRT's receipt keeps its status and the warehouse's messages
    When TIS posts the sample TRT "negative-ICA-ELA-G6-exam-errors.RDW.xml" to dw "/dw2/services/xml"
    Then the response status is 400
    And the dw admin door shows the "DW2" receipt refused with "INVALID" and the message "Opportunity@dateCompleted: empty"
