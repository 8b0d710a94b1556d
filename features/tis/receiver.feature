Feature: TIS receiver and processing service
  TDS posts a TRT to /api/testresult?statusCallback=…; TIS stores it as a source row, its
  processing service scores and routes it, and acknowledges TDS at the callback.

  @req_TIS-RCV-001
  Scenario: A TRT without statusCallback is refused
    When I POST to tis "/api/testresult" with content type "application/xml" and body:
      """
      <TDSReport/>
      """
    Then the response status is 400
    And the response JSON field "Message" is "This request is not properly formatted."

  @req_TIS-RCV-002
  Scenario: A relative statusCallback is refused
    When I POST to tis "/api/testresult?statusCallback=tisReply" with content type "application/xml" and body:
      """
      <TDSReport/>
      """
    Then the response status is 400
    And the response JSON field "Message" is "Illegal statusCallback format."

  @req_TIS-RCV-003
  Scenario: A DTD is refused as content that is not valid
    When I POST to tis "/api/testresult?statusCallback=http://tds/cb" with content type "application/xml" and body:
      """
      <!DOCTYPE TDSReport [<!ENTITY x "y">]><TDSReport/>
      """
    Then the response status is 400
    And the response JSON field "Message" is "Content format is not valid."

  @req_TIS-RCV-004
  Scenario: A root other than TDSReport is refused
    When I POST to tis "/api/testresult?statusCallback=http://tds/cb" with content type "application/xml" and body:
      """
      <TestResult/>
      """
    Then the response status is 400
    And the response JSON field "Message" is "Invalid test result: TestResult"

  @req_TIS-RCV-005
  Scenario: A well-formed TRT without an Examinee is the code's 500
    When I POST to tis "/api/testresult?statusCallback=http://tds/cb" with content type "application/xml" and body:
      """
      <TDSReport><Test name="(SBAC)X-2017"/><Opportunity oppId="1" statusDate="2017-01-01T00:00:00"/></TDSReport>
      """
    Then the response status is 500
    And the response JSON field "Message" is "Could not persist the request."

  # examrig's MessageDetail (the real one is the exception's text, and only with error detail on): TIS-CONV-001
  @req_TIS-CONV-001 @examrig
  Scenario: examrig's convention: A well-formed TRT without an Examinee is the code's 500 naming the missing element
    When I POST to tis "/api/testresult?statusCallback=http://tds/cb" with content type "application/xml" and body:
      """
      <TDSReport><Test name="(SBAC)X-2017"/><Opportunity oppId="1" statusDate="2017-01-01T00:00:00"/></TDSReport>
      """
    Then the response status is 500
    And the response JSON field "Message" is "Could not persist the request."
    And the response JSON field "MessageDetail" is "TDSReport/Examinee: missing"

  @req_TIS-RCV-006 @req_TIS-RCV-007 @req_TIS-PRC-003
  Scenario: An accepted TRT for an unloaded test is stored as source with a fresh oppId and stays there
    When TDS posts the TIS TRT generated from seed 31 with its callback at tds
    Then the response status is 200
    And the response body is empty
    And the TIS processing service runs
    And the TIS files of that TRT are in locations "source"
    And the TIS file of that TRT has oppId 1

  @req_TIS-RCV-006
  Scenario: An accepted TRT is committed as source with its callback URL and score mode before the empty 200
    Given TIS has the machine-scored test package generated from seed 32 and no data warehouse
    When TDS posts the TIS TRT generated from seed 32 with its callback at tds and scoremode "validate"
    Then the response status is 200
    And the response body is empty
    And the TIS file of that TRT is stored as "source" with its callback URL and scoremode "validate"

  @req_TIS-PRC-001 @req_TIS-ACK-001 @req_TIS-LBL-001
  Scenario: A machine-scored TRT is scored and acknowledged end to end with the tds mock
    Given TIS has the machine-scored test package generated from seed 31 and no data warehouse
    And TDS registered the TIS TRT generated from seed 31 as submitted
    When TDS posts the TIS TRT generated from seed 31 with its callback at tds
    And the TIS processing service runs
    Then the TIS files of that TRT are in locations "archive,destination"
    And the destination TRT has the opportunity scores "Attempted,ThetaScore,ScaleScore,PerformanceLevel,RawScore,ItemCount"
    And the TDS opportunity of that TRT has status "reported"
    And the last acknowledgement TDS received for that TRT is a success with a null trt and no error

  @req_TIS-PKG-001
  Scenario: Deleting an assessment that is not loaded is the code's 500
    When I DELETE to tis "/api/assessments/(SBAC_PT)NOPE-2017" with content type "application/xml" and no body
    Then the response status is 500
    And the response JSON field "Message" is "Could not delete assessment (SBAC_PT)NOPE-2017 from TIS"
