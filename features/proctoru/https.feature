Feature: HTTPS on request (the xBlock client hard-codes https://)
  examrig serves the proctoru mock over HTTPS with a certificate it generates for localhost and 127.0.0.1
  (mocks.core.tls.self_signed, mocks.core.server.bind(..., tls=...), `examrig serve --tls`).

  # examrig's serving of its mock (a generated certificate): kind extension
  @req_PU-TLS-001 @examrig
  Scenario: The API answers over HTTPS to a client that trusts the generated certificate
    Given the proctoru clock is at "2026-11-21T08:00:00Z"
    And the proctoru mock is also served over HTTPS with a generated self-signed certificate
    When the proctoru client sends GET "getTimeZoneList" over HTTPS trusting the certificate with:
      """
      """
    Then the proctoru answer is a success
    And the proctoru answer data items have the fields "Id, DisplayName, GMTOffset"
    When the proctoru client sends POST "addAdHocProcess" over HTTPS trusting the certificate with:
      """
      student_id=42
      first_name=Ada
      last_name=Lovelace
      email=ada@example.org
      time_zone_id=UTC
      start_date=2026-11-21T09:00:00Z
      duration=60
      reservation_id=res-tls
      """
    Then the proctoru answer is a success
    When the proctoru client sends GET "getStudentReservationList" with:
      """
      student_id=42
      """
    Then the proctoru answer data field "0.reservation_id" is "res-tls"
    And a client trusting only the system certificates cannot reach the proctoru HTTPS URL
    And a plain HTTP request to the proctoru HTTPS port gets no proctoru answer
