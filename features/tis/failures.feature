Feature: What TIS does when a TRT, a peer or TDS lets it down
  The code rejects a file with validation records, fails a pass when a target answers
  an error, never retries an acknowledgement, and checks the OAuth token first.

  @req_TIS-RCV-008
  Scenario: With the OAuth check on, a request without a bearer token is refused before anything else
    Given TIS checks OAuth tokens
    When I POST to tis "/api/testresult" with content type "text/plain" and body:
      """
      not even XML, and no statusCallback either
      """
    Then the response status is 401
    And the response text is "Not authorized to access this endpoint."

  @req_TIS-PRC-002
  Scenario: An item the test does not have rejects the file and TDS hears the swapped failure text
    Given TIS has the machine-scored test package generated from seed 41 and no data warehouse
    And TDS registered the TIS TRT generated from seed 41 as submitted
    When TDS posts the TIS TRT generated from seed 41 with an item the test does not have
    And the TIS processing service runs
    Then the TIS files of that TRT are in locations "reject"
    And the TIS file of that TRT has a validation record
    And the last acknowledgement TDS received for that TRT says success false with "failed while either updating the Response Bank, storing data into the DoR, or invoking the Handscoring webservice"

  @req_TIS-PRC-004
  Scenario: A warehouse answering 500 fails the pass once; a resubmission sends the TRT and the ack again
    Given TIS has the machine-scored test package generated from seed 42 and the dw mock as its warehouse
    And TDS registered the TIS TRT generated from seed 42 as submitted
    And the tis calls to the dw mock answer 500 once
    When TDS posts the TIS TRT generated from seed 42 with its callback at tds
    And the TIS processing service runs
    Then the TIS files of that TRT are in locations "reject"
    And the last acknowledgement TDS received for that TRT says success false with "failed validation"
    And the dw mock received that TRT 0 times
    When TIS resubmits that TRT through its admin door
    And the TIS processing service runs
    Then the dw mock received that TRT 1 time
    And the TDS opportunity of that TRT has status "reported"

  @req_TIS-ACK-002
  Scenario: An acknowledgement TDS refuses is recorded and not sent again
    Given TIS has the machine-scored test package generated from seed 43 and no data warehouse
    And TDS registered the TIS TRT generated from seed 43 as submitted
    And the tds mock answers route "tisReply" with status 500 once
    When TDS posts the TIS TRT generated from seed 43 with its callback at tds
    And the TIS processing service runs
    And the TIS processing service runs
    Then the TIS files of that TRT are in locations "archive,destination"
    And TIS recorded the acknowledgement of that TRT as answered 500
    And the tds journal shows 1 inbound request to "/student/TIS/API/tisReply" answered 500
    And the tds journal shows 0 inbound request to "/student/TIS/API/tisReply" answered 200
    And the TDS opportunity of that TRT has status "submitted"
