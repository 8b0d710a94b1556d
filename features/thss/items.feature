Feature: THSS takes item configurations on /api/item/submit
  The SupportTool posts a JSON array of item configurations (itemId, bankKey, HandScored,
  maxScore, scoreType, rubriclist, dimensions); THSS only takes TRT items configured this way.

  @req_THSS-ITEM-001
  Scenario: The SupportTool's example configuration is taken whole
    When I submit to thss the sample item configuration
    Then the response status is 200
    And the response JSON field "Success" is "true"
    And the thss took as many items as the sample holds

  @req_THSS-ITEM-002
  Scenario: A body that is not JSON is refused
    When I POST to thss "/api/item/submit" with content type "application/json" and body:
      """
      [{"itemId": 
      """
    Then the response status is 400
    And the response JSON field "Message" is "The request is invalid."

  @req_THSS-ITEM-002
  Scenario Outline: An item configuration with a bad field is refused naming it
    When I POST to thss "/api/item/submit" with JSON:
      """
      <body>
      """
    Then the response status is 400
    And the response JSON field "Message" is "The request is invalid."

    Examples:
      | body                                                               |
      | [{"itemId": "1", "bankKey": "200"}]                                 |
      | [{"itemId": "x", "bankKey": "200", "maxScore": "2"}]                |
      | [{"itemId": "1", "bankKey": "200", "maxScore": "2", "dimensions": [{"maxPoints": "2"}]}] |
      | {"not": "a list"}                                                  |

  # examrig's ModelState keys and texts (THSS's answer to /api/item/submit is not documented)
  @req_THSS-CONV-001 @examrig
  Scenario: examrig's convention: A body that is not JSON is refused saying so
    When I POST to thss "/api/item/submit" with content type "application/json" and body:
      """
      [{"itemId": 
      """
    Then the response status is 400
    And the response JSON field "ModelState.body.0" contains "not valid JSON"

  @req_THSS-CONV-001 @examrig
  Scenario Outline: examrig's convention: An item configuration with a bad field is refused naming it in ModelState
    When I POST to thss "/api/item/submit" with JSON:
      """
      <body>
      """
    Then the response status is 400
    And the response JSON field "ModelState" contains "<field>"

    Examples:
      | body                                                               | field            |
      | [{"itemId": "1", "bankKey": "200"}]                                 | [0].maxScore     |
      | [{"itemId": "x", "bankKey": "200", "maxScore": "2"}]                | [0].itemId       |
      | [{"itemId": "1", "bankKey": "200", "maxScore": "2", "dimensions": [{"maxPoints": "2"}]}] | [0].dimensions[0].description |
      | {"not": "a list"}                                                  | [0].bankKey      |
