Feature: deliveryodata answers in the format and at the version its clients ask for
  ASP.NET Web API OData 5.x over ODataLib 5.x: JSON Light (three metadata levels), verbose JSON and Atom,
  negotiated from Accept, DataServiceVersion and MaxDataServiceVersion; request bodies in each format.

  Background:
    Given a deliveryodata customer with the standard seed

  @req_DOD-VER-001
  Scenario: The response version follows MaxDataServiceVersion, else DataServiceVersion, else 3.0
    When I GET deliveryodata "/deliveryodata/400449/Participants(987654321)" as the API user with headers "MaxDataServiceVersion: 2.0"
    Then the response status is 200
    And the response header "DataServiceVersion" contains "2.0"
    And the deliveryodata answer is verbose JSON following the served CSDL
    When I GET deliveryodata "/deliveryodata/400449/Participants" as the API user with headers "DataServiceVersion: 1.0"
    Then the response header "DataServiceVersion" contains "1.0"
    And the deliveryodata answer is verbose JSON following the served CSDL
    And the deliveryodata JSON field "d.0.ID" is 987654321
    When I GET deliveryodata "/deliveryodata/400449/Participants" as the API user with headers "DataServiceVersion: 1.0 | MaxDataServiceVersion: 3.0"
    Then the response header "DataServiceVersion" contains "3.0"
    And the deliveryodata answer is JSON Light with minimalmetadata following the served CSDL

  @req_DOD-VER-002
  Scenario: A version header may carry the client's name after a semicolon
    When I GET deliveryodata "/deliveryodata/400449/Participants" as the API user with headers "Accept: application/atom+xml | DataServiceVersion: 2.0; pyslet 0.7.20170805 | MaxDataServiceVersion: 2.0; pyslet 0.7.20170805"
    Then the response status is 200
    And the response header "DataServiceVersion" contains "2.0"
    And the deliveryodata answer is feed XML following the served CSDL

  @req_DOD-VER-003
  Scenario Outline: A version the service cannot serve matches no route
    When I GET deliveryodata "/deliveryodata/400449/Participants" as the API user with headers "<headers>"
    Then the response status is 404
    And the deliveryodata error message contains "No HTTP resource was found that matches the request URI"

    Examples:
      | headers                                        |
      | DataServiceVersion: 4.0                        |
      | MaxDataServiceVersion: 4.0                     |
      | DataServiceVersion: 2.5                        |
      | DataServiceVersion: three                      |

  @req_DOD-VER-003
  Scenario: DataServiceVersion decides the match; an unreadable MaxDataServiceVersion leaves the response at it
    When I GET deliveryodata "/deliveryodata/400449/Participants" as the API user with headers "DataServiceVersion: 2.0 | MaxDataServiceVersion: 4.0"
    Then the response status is 200
    And the response header "DataServiceVersion" contains "2.0"

  @req_DOD-VER-004
  Scenario: OData v4 version headers
    When I GET deliveryodata "/deliveryodata/400449/Participants" as the API user with headers "OData-Version: 4.0"
    Then the response status is 404
    When I GET deliveryodata "/deliveryodata/400449/Participants" as the API user with headers "OData-MaxVersion: 4.0"
    Then the response status is 404
    When I GET deliveryodata "/deliveryodata/400449/Participants" as the API user with headers "OData-MaxVersion: 4.0 | MaxDataServiceVersion: 3.0"
    Then the response status is 200

  @req_DOD-FMT-101
  Scenario Outline: JSON Light at the metadata level asked for
    When I GET deliveryodata "/deliveryodata/400449/Participants" as the API user with headers "Accept: <accept>"
    Then the response status is 200
    And the response header "Content-Type" contains "<content type>"
    And the deliveryodata answer is JSON Light with <level> following the served CSDL

    Examples:
      | accept                                               | content type                                             | level            |
      | application/json                                     | application/json; odata=minimalmetadata; streaming=true  | minimalmetadata  |
      | application/json;odata=minimalmetadata;streaming=false | application/json;odata=minimalmetadata;streaming=false | minimalmetadata  |
      | application/json;odata=fullmetadata                  | application/json;odata=fullmetadata;streaming=true       | fullmetadata     |
      | application/json;odata=nometadata                    | application/json;odata=nometadata;streaming=true         | nometadata       |

  @req_DOD-FMT-102
  Scenario: Full metadata names each entity and its navigation links; no metadata drops the context
    Given a locked deliveryodata attempt "fmt-full"
    When I GET deliveryodata "/deliveryodata/400449/Attempts({attempt})?$expand=AttemptMetadata" as the API user with headers "Accept: application/json;odata=fullmetadata"
    Then the response status is 200
    And the deliveryodata answer is JSON Light with fullmetadata following the served CSDL
    And the deliveryodata JSON member "odata.type" is "QM.DeliveryODataService.DTO.Attempt"
    And the deliveryodata JSON member "odata.editLink" starts with "http"
    And the deliveryodata JSON member "Result@odata.navigationLinkUrl" starts with "http"
    When I GET deliveryodata "/deliveryodata/400449/Attempts?$inlinecount=allpages" as the API user with headers "Accept: application/json;odata=nometadata"
    Then the deliveryodata answer is JSON Light with nometadata following the served CSDL
    And the deliveryodata answer has no "odata.metadata"
    And the deliveryodata JSON member "odata.count" is "1"

  @req_DOD-FMT-103
  Scenario: Verbose JSON: results, __count, __next, __metadata, deferred navigation, Int64 and DateTime
    Given I seed deliveryodata with JSON:
      """
      {"generate": [{"seed": 11, "participants": 120}]}
      """
    And a locked deliveryodata attempt "fmt-verbose"
    When I GET deliveryodata "/deliveryodata/400449/Participants?$inlinecount=allpages" as the API user with headers "Accept: application/json;odata=verbose"
    Then the response status is 200
    And the deliveryodata answer is verbose JSON following the served CSDL
    And the deliveryodata JSON field "d.__count" is "121"
    And the deliveryodata JSON field "d.__next" starts with "http"
    When I GET deliveryodata "/deliveryodata/400449/Attempts({attempt})" as the API user with headers "Accept: application/json;odata=verbose"
    Then the deliveryodata answer is verbose JSON following the served CSDL
    And the deliveryodata JSON field "d.AssessmentID" is "1234567890876543"
    And the deliveryodata JSON field "d.LastModifiedDateTime" starts with "/Date("
    And the deliveryodata JSON field "d.__metadata.type" is "QM.DeliveryODataService.DTO.Attempt"
    And the deliveryodata JSON field "d.Result.__deferred.uri" starts with "http"
    When I GET deliveryodata "/deliveryodata/400449/Attempts({attempt})?$expand=AttemptMetadata" as the API user with headers "MaxDataServiceVersion: 2.0"
    Then the deliveryodata answer is verbose JSON following the served CSDL
    And the deliveryodata JSON field "d.AttemptMetadata.results" is []

  @req_DOD-FMT-104
  Scenario: Atom feeds and entries
    Given I seed deliveryodata with JSON:
      """
      {"generate": [{"seed": 12, "participants": 120}]}
      """
    And a locked deliveryodata attempt "fmt-atom"
    When I GET deliveryodata "/deliveryodata/400449/Participants?$inlinecount=allpages" as the API user with headers "Accept: application/atom+xml | MaxDataServiceVersion: 2.0"
    Then the response status is 200
    And the deliveryodata answer is feed XML following the served CSDL
    And the deliveryodata XML "/a:feed/m:count" is "121"
    And the deliveryodata XML has 100 nodes at "/a:feed/a:entry"
    And the deliveryodata XML has 1 nodes at "/a:feed/a:link[@rel='next']"
    When I GET deliveryodata "/deliveryodata/400449/Attempts({attempt})?$expand=Result" as the API user with headers "Accept: application/atom+xml;type=entry"
    Then the deliveryodata answer is entry XML following the served CSDL
    And the deliveryodata XML "//d:AssessmentID/@m:type" is "Edm.Int64"
    And the deliveryodata XML "//d:ResultID/@m:null" is "true"
    And the deliveryodata XML has 1 nodes at "//a:link[@title='Result']/m:inline"

  @req_DOD-FMT-105
  Scenario: The service document as AtomPub or JSON; $metadata as XML
    When I GET deliveryodata "/deliveryodata/400449/" as the API user with headers "none"
    Then the response status is 200
    And the deliveryodata answer is service XML following the served CSDL
    When I GET deliveryodata "/deliveryodata/400449/" as the API user with headers "Accept: application/json"
    Then the deliveryodata answer is JSON Light with minimalmetadata following the served CSDL
    When I GET deliveryodata "/deliveryodata/400449/" as the API user with headers "Accept: application/json | MaxDataServiceVersion: 2.0"
    Then the deliveryodata answer is verbose JSON following the served CSDL
    When I GET deliveryodata "/deliveryodata/400449/$metadata" as the API user with headers "Accept: application/json | MaxDataServiceVersion: 2.0"
    Then the response status is 200
    And the response header "Content-Type" contains "application/xml"
    And the response header "DataServiceVersion" contains "2.0"

  @req_DOD-FMT-106
  Scenario: A feed asked for as application/xml is answered by the first formatter that writes feeds
    When I GET deliveryodata "/deliveryodata/400449/Participants" as the API user with headers "Accept: application/xml"
    Then the deliveryodata answer is JSON Light with minimalmetadata following the served CSDL
    When I GET deliveryodata "/deliveryodata/400449/Participants" as the API user with headers "Accept: text/csv | MaxDataServiceVersion: 2.0"
    Then the deliveryodata answer is verbose JSON following the served CSDL

  @req_DOD-FMT-107
  Scenario: Errors in the negotiated format
    When I GET deliveryodata "/deliveryodata/400449/Attempts?$filter=Nope eq 1" as the API user with headers "Accept: application/json;odata=verbose"
    Then the response status is 400
    And the deliveryodata answer is verbose JSON following the served CSDL
    And the deliveryodata error in any format says "Could not find a property named 'Nope'"
    When I GET deliveryodata "/deliveryodata/400449/Attempts?$filter=Nope eq 1" as the API user with headers "Accept: application/xml"
    Then the response status is 400
    And the deliveryodata answer is error XML following the served CSDL
    And the deliveryodata error in any format says "Could not find a property named 'Nope'"

  @req_DOD-FMT-108
  Scenario: An Atom client's error is m:error XML
    When I GET deliveryodata "/deliveryodata/400449/Attempts?$filter=Nope eq 1" as the API user with headers "Accept: application/atom+xml | MaxDataServiceVersion: 2.0"
    Then the response status is 400
    And the deliveryodata answer is error XML following the served CSDL
    And the response header "DataServiceVersion" contains "2.0"

  @req_DOD-FMT-109
  Scenario: A verbose JSON POST with a deep insert and a \/Date()\/, then a verbose PATCH
    When I POST to deliveryodata "/deliveryodata/400449/Attempts" as the API user with headers "Content-Type: application/json;odata=verbose | Accept: application/json;odata=verbose | MaxDataServiceVersion: 2.0" and body:
      """
      {"__metadata": {"type": "QM.DeliveryODataService.DTO.Attempt"}, "ExternalAttemptID": "fmt-v-1",
       "ParticipantID": 987654321, "AssessmentID": "1234567890876543", "LockRequired": true, "UnlockCode": "AB12",
       "UnlockCodeExpiresDateTime": "\/Date(1798790400000)\/",
       "AttemptMetadata": {"results": [{"Key": "S1", "Value": "seat 4"}]}}
      """
    Then the response status is 201
    And the deliveryodata answer is verbose JSON following the served CSDL
    And the deliveryodata JSON field "d.UnlockCodeExpiresDateTime" is "/Date(1798790400000)/"
    When I PATCH to deliveryodata "/deliveryodata/400449/Attempts({attempt})" as the API user with headers "Content-Type: application/json;odata=verbose | DataServiceVersion: 2.0" and body:
      """
      {"__metadata": {"type": "QM.DeliveryODataService.DTO.Attempt"}, "LockStatus": false}
      """
    Then the response status is 204
    And the response header "DataServiceVersion" contains "2.0"
    When I GET deliveryodata "/deliveryodata/400449/Attempts({attempt})?$expand=AttemptMetadata" as the API user
    Then the deliveryodata JSON field "LockStatus" is false
    And the deliveryodata JSON field "UnlockCodeExpiresDateTime" is "2027-01-01T08:00:00Z"
    And the deliveryodata JSON field "AttemptMetadata.0.Value" is "seat 4"

  @req_DOD-FMT-109
  Scenario: An Atom entry POST with an inline deep insert, a MERGE, and a body that is no entry
    When I POST to deliveryodata "/deliveryodata/400449/Attempts" as the API user with headers "Content-Type: application/atom+xml | Accept: application/atom+xml | DataServiceVersion: 2.0 | MaxDataServiceVersion: 2.0" and body:
      """
      <?xml version="1.0" encoding="utf-8"?>
      <entry xmlns="http://www.w3.org/2005/Atom" xmlns:d="http://schemas.microsoft.com/ado/2007/08/dataservices"
             xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata">
        <category term="QM.DeliveryODataService.DTO.Attempt" scheme="http://schemas.microsoft.com/ado/2007/08/dataservices/scheme"/>
        <link rel="http://schemas.microsoft.com/ado/2007/08/dataservices/related/AttemptMetadata" type="application/atom+xml;type=feed" title="AttemptMetadata">
          <m:inline><feed><entry><content type="application/xml"><m:properties>
            <d:Key>S2</d:Key><d:Value>desk 9</d:Value>
          </m:properties></content></entry></feed></m:inline>
        </link>
        <title/><updated>2026-12-01T00:00:00Z</updated><author><name/></author>
        <content type="application/xml"><m:properties>
          <d:ID m:type="Edm.Int32">0</d:ID>
          <d:ExternalAttemptID>fmt-a-1</d:ExternalAttemptID>
          <d:ParticipantID m:type="Edm.Int32">987654321</d:ParticipantID>
          <d:AssessmentID m:type="Edm.Int64">1234567890876543</d:AssessmentID>
          <d:LockRequired m:type="Edm.Boolean">true</d:LockRequired>
          <d:LockStatus m:type="Edm.Boolean">true</d:LockStatus>
          <d:ParticipantFacingQMLobbyUrl m:null="true"/>
        </m:properties></content>
      </entry>
      """
    Then the response status is 201
    And the deliveryodata answer is entry XML following the served CSDL
    And the deliveryodata XML "//d:ExternalAttemptID" is "fmt-a-1"
    When I MERGE to deliveryodata "/deliveryodata/400449/Attempts({attempt})" as the API user with headers "Content-Type: application/atom+xml | DataServiceVersion: 2.0" and body:
      """
      <entry xmlns="http://www.w3.org/2005/Atom" xmlns:d="http://schemas.microsoft.com/ado/2007/08/dataservices"
             xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata">
        <content type="application/xml"><m:properties><d:LockStatus m:type="Edm.Boolean">false</d:LockStatus></m:properties></content>
      </entry>
      """
    Then the response status is 204
    When I GET deliveryodata "/deliveryodata/400449/Attempts({attempt})?$expand=AttemptMetadata" as the API user
    Then the deliveryodata JSON field "LockStatus" is false
    And the deliveryodata JSON field "AttemptMetadata.0.Key" is "S2"
    When I MERGE to deliveryodata "/deliveryodata/400449/Attempts({attempt})" as the API user with headers "Content-Type: application/atom+xml | Accept: application/atom+xml" and body:
      """
      <feed xmlns="http://www.w3.org/2005/Atom"/>
      """
    Then the response status is 400
    And the deliveryodata answer is error XML following the served CSDL

  @req_DOD-FMT-109
  Scenario: The model's rules hold whatever the body's format
    When I POST to deliveryodata "/deliveryodata/400449/Attempts" as the API user with headers "Content-Type: application/atom+xml | Accept: application/atom+xml" and body:
      """
      <entry xmlns="http://www.w3.org/2005/Atom" xmlns:d="http://schemas.microsoft.com/ado/2007/08/dataservices"
             xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata">
        <content type="application/xml"><m:properties>
          <d:ExternalAttemptID>fmt-a-2</d:ExternalAttemptID>
          <d:ParticipantID m:type="Edm.Int32">lots</d:ParticipantID>
          <d:AssessmentID m:type="Edm.Int64">1234567890876543</d:AssessmentID>
        </m:properties></content>
      </entry>
      """
    Then the response status is 400
    And the deliveryodata error in any format says "ParticipantID"

  @req_DOD-FMT-110
  Scenario: Empty parentheses and empty segments
    Given a locked deliveryodata attempt "fmt-paths"
    When I GET deliveryodata "/deliveryodata/400449/Participants()" as the API user
    Then the response status is 200
    And the deliveryodata JSON field "value.0.ID" is 987654321
    When I GET deliveryodata "/deliveryodata/400449//Participants" as the API user with headers "Accept: application/json"
    Then the response status is 200
    And the deliveryodata answer is JSON Light with minimalmetadata following the served CSDL
    When I GET deliveryodata "/deliveryodata/400449/Attempts({attempt})//" as the API user with headers "Accept: application/json"
    Then the response status is 200
    And the deliveryodata JSON field "ExternalAttemptID" is "fmt-paths"

  @req_DOD-FMT-111
  Scenario: A path with // that names nothing is a 404 naming the real URL
    When I GET deliveryodata "/deliveryodata/400449/Participants//" as the API user with headers "Accept: application/json"
    Then the response status is 200
    When I GET deliveryodata "/deliveryodata/400449/Nope//Participants" as the API user with headers "none"
    Then the response status is 404
    And the deliveryodata error message contains "/deliveryodata/400449/Nope//Participants"
    And the deliveryodata error message does not contain "http://examrig/"

  # examrig's wording where no source gives the service's (DOD-CONV-001)
  @req_DOD-CONV-001 @examrig
  Scenario: examrig's convention: An Atom body that is no entry is refused saying "expected an Atom entry"
    Given a locked deliveryodata attempt "e-1"
    When I MERGE to deliveryodata "/deliveryodata/400449/Attempts({attempt})" as the API user with headers "Content-Type: application/atom+xml | Accept: application/atom+xml" and body:
      """
      <feed xmlns="http://www.w3.org/2005/Atom"/>
      """
    Then the response status is 400
    And the deliveryodata error in any format says "expected an Atom entry"
