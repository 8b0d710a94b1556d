Feature: OpenAM describes a token on /auth/oauth2/tokeninfo
  TIS and RDW resolve the bearer token of an inbound call with tokeninfo and read the
  role names out of sbacTenancyChain (field 2 of each pipe-delimited entry).

  Background:
    Given an openam client "tis-client" with secret "s3cret" allowed "password"
    And an openam user "loader@example.org" with password "pw" and roles "ASMTDATALOAD,TIS Admin"

  @req_OAM-INFO-001
  Scenario: A live token shows the user's mail, realm and tenancy chain
    Given an openam token for "loader@example.org" with password "pw" as client "tis-client" with secret "s3cret"
    When I ask openam for the token's info
    Then the response status is 200
    And the response JSON field "mail" is "loader@example.org"
    And the response JSON field "realm" is "/sbac"
    And the openam tenancy chain names the roles "ASMTDATALOAD,TIS Admin"

  @req_OAM-INFO-001
  Scenario: expires_in counts down with the tenant's clock
    Given the openam clock is frozen at "2024-03-01T10:00:00Z"
    And an openam token for "loader@example.org" with password "pw" as client "tis-client" with secret "s3cret"
    When I ask openam for the token's info
    And the openam clock advances 600 seconds
    And I ask openam for the token's info
    Then the openam token's expires_in fell by 600 seconds between the two asks

  @req_OAM-TOK-006
  Scenario: With the default lifetime, a token has 3000 s left after 600 s
    Given the openam clock is frozen at "2024-03-01T10:00:00Z"
    And an openam token for "loader@example.org" with password "pw" as client "tis-client" with secret "s3cret"
    When the openam clock advances 600 seconds
    And I ask openam for the token's info
    Then the response status is 200
    And the response JSON field "expires_in" is "3000"

  @req_OAM-INFO-002
  Scenario: An expired token is refused
    Given the openam clock is frozen at "2024-03-01T10:00:00Z"
    And an openam token for "loader@example.org" with password "pw" as client "tis-client" with secret "s3cret"
    When the openam clock advances 3600 seconds
    And I ask openam for the token's info
    Then the response status is 400
    And the response JSON field "error" is "invalid_request"
    And the response JSON field "error_description" is "Access Token not valid"

  @req_OAM-INFO-002
  Scenario: A revoked token is refused
    Given an openam token for "loader@example.org" with password "pw" as client "tis-client" with secret "s3cret"
    When the openam token is revoked by client "tis-client" with secret "s3cret"
    And I ask openam for the token's info
    Then the response status is 400
    And the response JSON field "error_description" is "Access Token not valid"

  @req_OAM-INFO-002
  Scenario Outline: Unknown or malformed tokens are refused
    When I GET openam tokeninfo for "<token>"
    Then the response status is 400
    And the response JSON field "error" is "invalid_request"

    Examples:
      | token                                |
      | 6f1c1c52-1d3b-4b1f-9d7e-3a0a0a0a0a0a |
      | not-a-guid                           |

  # examrig's own configuration and seeding (OAM-CFG-001, DESIGN.md): not a rule of OpenAM's
  @harness @examrig @req_OAM-CFG-001
  Scenario: A seeded user with a bad role entry is refused naming the field
    When I seed openam users with JSON:
      """
      {"users": [{"username": "x", "password": "y", "roles": [{"role": "A|B"}]}]}
      """
    Then the response status is 400
    And the response JSON field "error.field" is "users[0].roles[0].role"
