Feature: THSS takes hand-scoring work on /api/test/submit
  TIS posts the whole TRT wrapped in <ItemScoreRequest callbackUrl> as one multipart file part
  without a form-field name. THSS validates it against its upload schema, keeps only the items
  configured as hand-scored that are not yet scored, and always answers 200 {"Files":[…]}.

  Background:
    Given the thss item "200-15570" is hand-scored with max score 2
    And the thss item "200-196783" is hand-scored with max score 4

  @req_THSS-UP-001 @req_THSS-UP-002
  Scenario: Only configured, unscored items are taken from the TRT
    When TIS uploads to thss a TRT for opportunity "71a3ee01-f215-4ccd-b74d-df1097a01a0c" with items "200-15570:SA:NOTSCORED;200-196783:ER:NOTSCORED;200-15566:MC:SCORED;200-99:SA:NOTSCORED"
    Then the thss answer lists file "71a3ee01-f215-4ccd-b74d-df1097a01a0c_1.xml" as accepted
    And the thss work queue holds "200-15570,200-196783" in status "pending"

  @req_THSS-UP-001
  Scenario: Each file part of an upload gets an entry of its own in the answer
    When TIS uploads to thss in one request a TRT for each of the opportunities "71a3ee01-f215-4ccd-b74d-df1097a01a0c,8c0b8bb4-59a9-4c3c-9e1f-7d3a1b2c4d5e" with items "200-15570:SA:NOTSCORED"
    Then the thss answer lists the files "71a3ee01-f215-4ccd-b74d-df1097a01a0c_1.xml,8c0b8bb4-59a9-4c3c-9e1f-7d3a1b2c4d5e_1.xml" as accepted, one entry each

  @req_THSS-UP-002
  Scenario: A configured item that is already scored is not taken
    When TIS uploads to thss a TRT for opportunity "71a3ee01-f215-4ccd-b74d-df1097a01a0c" with items "200-15570:SA:SCORED;200-196783:ER:NOTSCORED"
    Then the thss work queue holds "200-196783" in status "pending"

  @req_THSS-UP-002
  Scenario: A real TDS report wrapped by TIS is taken item by item
    When TIS uploads to thss the sample TRT "partially-scored-MATH-G7.IRP-good-tds-report.xml" wrapped for callback
    Then the thss answer lists file "partially-scored-MATH-G7.IRP-good-tds-report.xml" as accepted
    And the thss work queue holds "200-15570,200-196783" in status "pending"

  @req_THSS-UP-003
  Scenario: An empty file is refused with THSS's error 1002
    When I upload to thss an empty file "empty.xml"
    Then the thss answer lists file "empty.xml" as refused with "Error Code: 1002 Message: File does not contain any data."
    And the thss work queue is empty

  @req_THSS-UP-003
  Scenario: A file that is not XML is refused as not in a correct format
    When I upload to thss a file "junk.xml" containing:
      """
      this is not <xml
      """
    Then the thss answer lists file "junk.xml" as refused with " File is not in a correct format. Validation Error:"

  @req_THSS-UP-003
  Scenario: An upload without callbackUrl fails the upload schema
    When I upload to thss a file "nocb.xml" containing:
      """
      <ItemScoreRequest><TDSReport/></ItemScoreRequest>
      """
    Then the thss answer lists file "nocb.xml" as refused with "File is not in a correct format. Validation Error:"
    And the thss work queue is empty

  @req_THSS-UP-003 @req_THSS-GUIDE-001
  Scenario: The guide's per-item request is not what THSS takes in the real profile
    When I upload to thss the sample "tis/itemscoring/ItemScoreRequest.ISE-per-item.xml" as file "per-item.xml"
    Then the thss answer lists file "per-item.xml" as refused with "File is not in a correct format. Validation Error:"

  @req_THSS-UP-004
  Scenario: A TRT in a plain form field is not a file
    When I send thss a TRT for opportunity "71a3ee01-f215-4ccd-b74d-df1097a01a0c" in a plain form field "file"
    Then the thss answer lists no files
    And the thss work queue is empty

  @req_THSS-UP-004
  Scenario: A broken multipart body holds no files
    When I send thss a broken multipart body for opportunity "71a3ee01-f215-4ccd-b74d-df1097a01a0c"
    Then the thss answer lists no files
    And the thss work queue is empty

  @req_THSS-UP-004
  Scenario: An XML body that is not multipart holds no files in the real profile
    When I POST to thss "/api/test/submit" with content type "application/xml" and body:
      """
      <ItemScoreRequest callbackUrl="http://tis/cb"><TDSReport/></ItemScoreRequest>
      """
    Then the thss answer lists no files

  @req_THSS-UP-005
  Scenario: A reset opportunity drops its pending work
    When TIS uploads to thss a TRT for opportunity "71a3ee01-f215-4ccd-b74d-df1097a01a0c" with items "200-15570:SA:NOTSCORED"
    Then the thss work queue holds "200-15570" in status "pending"
    When TIS uploads to thss a TRT for opportunity "71a3ee01-f215-4ccd-b74d-df1097a01a0c" in status "reset" with no items
    Then the thss answer lists file "71a3ee01-f215-4ccd-b74d-df1097a01a0c_2.xml" as accepted
    And the thss work queue is empty

  # examrig's conventions on the scenarios above (the field key ...): claimed by CORE-JRN-001
  @req_CORE-JRN-001 @examrig
  Scenario: examrig's convention: Only configured, unscored items are taken from the TRT
    When TIS uploads to thss a TRT for opportunity "71a3ee01-f215-4ccd-b74d-df1097a01a0c" with items "200-15570:SA:NOTSCORED;200-196783:ER:NOTSCORED;200-15566:MC:SCORED;200-99:SA:NOTSCORED"
    Then the thss answer lists file "71a3ee01-f215-4ccd-b74d-df1097a01a0c_1.xml" as accepted
    And the thss work queue holds "200-15570,200-196783" in status "pending"
    And the thss journal shows 1 inbound request to "/api/test/submit" answered 200
