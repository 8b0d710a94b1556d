"""deliveryodata errors as data (rendered as odata.error, or examrig JSON behind the lobby URLs, by wire.py)."""

from __future__ import annotations

from mocks.core.errors import BadRequest, Conflict, Forbidden, NotFound, ServiceError, Unauthorized


class InvalidQuery(BadRequest):
    """A query option Web API's EnableQuery validation refuses."""

    code = "invalid_query"
    template = "The query specified in the URI is not valid. {detail}"


class UnsupportedQueryParameter(BadRequest):
    """A ``$`` option the service does not know."""

    code = "unsupported_query_parameter"
    template = "The query parameter '{field}' is not supported."


class NotACollection(BadRequest):
    """Collection-only options on a single entity."""

    code = "not_a_collection"
    template = ("The requested resource is not a collection. Query options $filter, $orderby, $inlinecount, "
                "$skip, and $top can be applied only on collections.")


class InvalidBody(BadRequest):
    """A request body that does not read as a JSON object."""

    code = "invalid_body"
    template = "The request entity is not valid JSON: {detail}"


class UnknownProperty(BadRequest):
    """A property the entity type does not declare (ODataLib's reader message)."""

    code = "unknown_property"
    template = ("The property '{field}' does not exist on type '{type}'. Make sure to only use property names that "
                "are defined by the type.")


class InvalidValue(BadRequest):
    """A JSON value of the wrong type, range or form for the property."""

    code = "invalid_value"
    template = "Cannot convert the value {value} to the expected type '{type}' of property '{field}'."


class UnquotedInt64(InvalidValue):
    """A JSON number for an Edm.Int64 property: ODataLib 5.x reads a JSON number as an Int32 or a Double and
    converts neither to Int64 (ODataJsonLightReaderUtils.ConvertValue)."""

    code = "int64_not_quoted"
    template = ("Cannot convert the value {value} to the expected type '{type}' of property '{field}': it was read "
                "as an '{read_as}'. Primitive values of type 'Edm.Decimal' and 'Edm.Int64' must be quoted in the "
                "payload. Make sure the value is quoted.")


class Required(BadRequest):
    """A required property missing or null (DataAnnotations' message)."""

    code = "required"
    template = "The {field} field is required."


class TooLong(BadRequest):
    """A string over its maximum length (DataAnnotations' StringLength message)."""

    code = "too_long"
    template = "The field {field} must be a string with a maximum length of {limit}."


class NotAscii(BadRequest):
    """A value that must be ASCII."""

    code = "not_ascii"
    template = "The field {field} must contain only ASCII characters."


class ReadOnlyProperty(BadRequest):
    """A server-set property in a request body (when read-only properties are refused)."""

    code = "read_only"
    template = "The property '{field}' is read-only and cannot be set."


class Immutable(BadRequest):
    """A PATCH changing a property fixed at creation."""

    code = "immutable"
    template = "The property '{field}' cannot be modified once the {type} has been created."


class NotPatchable(BadRequest):
    """A PATCH of a property the entity does not allow to change."""

    code = "not_patchable"
    template = "The property '{field}' cannot be updated."


class DanglingReference(BadRequest):
    """A foreign key that names no entity."""

    code = "dangling_reference"
    template = "The {field} {value} does not identify an existing {type}."


class InvalidLanguage(BadRequest):
    """A Language the assessment is not available in."""

    code = "invalid_language"
    template = "The assessment {assessment} is not available in language '{value}' (Language)."


class Duplicate(ServiceError):
    """A unique external id used twice; the status comes from the options (400 or 409)."""

    code = "duplicate"
    status = 409
    template = "An entity with {field} '{value}' already exists."

    def __init__(self, *, status: int, **params: object) -> None:
        super().__init__(**params)  # type: ignore[arg-type]
        self.status = status  # type: ignore[misc]


class OpenListExists(Conflict):
    """A second open AttemptList for one TestCenter."""

    code = "open_list_exists"
    template = "TestCenter {value} already has an open AttemptList (Open)."


class InvalidTransition(BadRequest):
    """A Result.Status change the service does not allow."""

    code = "invalid_transition"
    template = "The Status of Result {result} cannot change from {old} to {new}."


class EntityNotFound(NotFound):
    """No entity with the key in the set."""

    code = "entity_not_found"
    template = "No {type} with key {key} was found."


class ResourceNotFound(NotFound):
    """A URL that matches no resource (Web API's routing message)."""

    code = "no_resource"
    template = "No HTTP resource was found that matches the request URI '{uri}'."


class UnknownCustomer(NotFound):
    """A customer id that is not configured."""

    code = "unknown_customer"
    template = "No deliveryodata service is configured for customer '{customer}'."


class AuthRequired(Unauthorized):
    """Missing or wrong Basic credentials."""

    code = "unauthorized"


# -- behind the signed URLs (lobby and proctor widget) ------------------------------------------


class SignatureInvalid(Forbidden):
    """A signed URL whose signature does not match its parameters."""

    code = "signature_invalid"
    template = "The signature of this link is not valid ({field})."


class WrongRole(Forbidden):
    """A signed URL presented for a role it was not issued to."""

    code = "wrong_role"
    template = "This link was issued for role '{role}' and cannot be used here (role)."


class LinkExpired(Forbidden):
    """A signed URL past its lifetime."""

    code = "link_expired"
    template = ("This link expired at {expired} (timestamp): {kind} links are valid for {ttl} seconds after they are "
                "issued ({option}); read the attempt again for a new one.")


class LinkUsed(Forbidden):
    """A single-use lobby URL presented again."""

    code = "link_used"
    template = "This lobby link has already been used (nonce)."


class SessionInvalid(Forbidden):
    """A lobby session token that is not the attempt's current one."""

    code = "session_invalid"
    template = "The lobby session is not valid for this attempt (session)."


class AttemptStateConflict(Conflict):
    """A lobby or proctor action that the attempt's current state does not allow."""

    code = "state_conflict"
    template = "{message}"


class UnknownAction(NotFound):
    """A proctor control the widget does not have (the controls are Unlock, Lock, Pause, Resume, AddTime,
    Terminate)."""

    code = "unknown_action"
    template = "The proctor widget has no control '{action}' (one of {actions})."


class BadUnlockCode(Forbidden):
    """A wrong or expired unlock code."""

    code = "unlock_code_invalid"
    template = "{message}"
