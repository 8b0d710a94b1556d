@cap_deliveryodata.pages
Feature: What the lobby's delivery page does to the result (docs/pages.md)
  The candidate's delivery page is examrig's own: its Finish completes the result, and the time left it reports
  stands still while the proctor pauses. Both are read back as any client reads them (the Results feed, the
  page's polling endpoint with the lobby session).

  Background:
    Given a deliveryodata customer with the standard seed
    And I seed deliveryodata with JSON:
      """
      {"assessments": [{"ID": "1234567890876543", "Name": "Timed exam", "Language": "en-US", "IsSecure": false,
                        "TimeLimit": 30}]}
      """
    And the deliveryodata clock is frozen at "2026-03-02T09:00:00Z"
    And a locked deliveryodata attempt "page-1"
    And I GET the deliveryodata attempt entity
    And the participant opens the lobby URL
    And the proctor does "Unlock"
    And the participant starts the assessment

  @req_DOD-PAGE-001
  Scenario: Finish on the delivery page completes the result
    Given the deliveryodata clock advances 90 seconds
    When the participant finishes on the delivery page
    Then the response status is 303
    When I GET deliveryodata "/deliveryodata/400449/Results({result})" as the API user
    Then the deliveryodata JSON field "Status" is 5
    And the deliveryodata JSON field "StillGoing" is false
    And the deliveryodata JSON field "TimeTaken" is 90
    And the deliveryodata JSON field "WhenFinished" is "2026-03-02T09:01:30"
    And the session audit log of the attempt lists "AttemptCreated,LobbyEntered,Unlocked,Started,Finished"
    When the participant finishes on the delivery page
    Then the response status is 409

  @req_DOD-PAGE-002
  Scenario: The time left stands still while the proctor pauses
    Given the deliveryodata clock advances 60 seconds
    Then the delivery page reports 1740 seconds left
    When the proctor does "Pause"
    And the deliveryodata clock advances 300 seconds
    Then the delivery page reports 1740 seconds left
    When the proctor adds 10 minutes
    Then the delivery page reports 2340 seconds left
    When the proctor does "Resume"
    And the deliveryodata clock advances 40 seconds
    Then the delivery page reports 2300 seconds left
