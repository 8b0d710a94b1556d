Feature: The guide's three use cases end to end: TDS, TIS, THSS, the data warehouse and OpenAM
  Every peer is the real examrig mock, wired to the others by the rig's topology: TIS's statusCallback is the tds
  mock, its THSS target the thss mock (whose scoring policy plays the teacher), its DW target the dw mock's RDW
  import endpoint, authorised with a token from the openam mock.

  Background:
    Given the pipeline TIS posts to the dw mock's imports with the openam loader account

  @req_TIS-E2E-001 @req_TIS-PRC-001 @req_TIS-ACK-001 @req_TIS-LBL-001
  Scenario: A fully scored test is scored, stored in the warehouse once and reported at TDS
    Given the pipeline TIS has the machine-scored test package generated from seed 61
    When TDS submits the pipeline TRT generated from seed 61
    And the pipeline runs until it is quiet
    Then the TDS opportunity of that TRT has status "reported"
    And the TDS audit of that opportunity reads "reported"
    And the dw mock holds 1 processed import of that opportunity
    And the TIS files of that TRT are in locations "archive,destination"
    And the destination TRT has the opportunity scores "Attempted,ThetaScore,ScaleScore,PerformanceLevel,RawScore,ItemCount"

  @req_TIS-E2E-002 @req_TIS-HS-001 @req_TIS-SD-001 @req_TIS-SD-002
  Scenario: A partially scored test is hand-scored through the thss policy, then scored, stored and reported
    Given the pipeline TIS has the hand-scored test package generated from seed 62
    And the thss mock hand-scores the pipeline TRT from seed 62 with the fixed policy score 1
    When TDS submits the pipeline TRT generated from seed 62
    And the pipeline runs until it is quiet
    Then the TIS statuses of that opportunity are "handscoring,handscored,scored"
    And the destination TRT carries the hand scores "SA:1,ER:1,WER:2" by item type
    And the TDS opportunity of that TRT has status "reported"
    And the TDS audit of that opportunity reads "reported,QA Reported"
    And the dw mock holds 2 processed imports of that opportunity

  @req_TIS-E2E-003 @req_TIS-CMB-001
  Scenario: A combined test is held until both components arrived, then one complete TRT reaches the warehouse
    Given the pipeline TIS has the combined test package generated from seed 63
    When TDS submits component 1 of the pipeline combined TRTs generated from seed 63
    And the pipeline runs until it is quiet
    And TDS submits component 2 of the pipeline combined TRTs generated from seed 63
    And the pipeline runs until it is quiet
    Then every pipeline TRT is "reported" at TDS with the audit "reported"
    And one combined TRT of that student is "completed" with 2 components and reached the dw mock once
