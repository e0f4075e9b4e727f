# -*- test-case-name: tests.test_messages -*-

"""
Authentication (component 1): logins, account creation, personas, tokens,
legal documents, password rules and entitlements (blaze-wire.md section
5.7).

Reply shapes:

  - login (0x28) and createAccount (0x0A): L{LoginResponse}.
  - silentLogin (0x32), originLogin (0x98), UserSessions.resumeSession:
    L{FullLoginResponse}.
  - loginPersona (0x6E): L{LoginPersonaResponse}, that is
    L{SessionInfo <pocketrelay.me3.messages.common.SessionInfo>} as the
    whole body.
  - login errors may carry L{CreateAccountResponse} (C{PNAM}, C{UID}) as
    their body; an empty body works too.
"""

from __future__ import annotations

import enum

import attrs

from pocketrelay.blaze import tdf
from pocketrelay.me3.messages.common import PersonaDetails, SessionInfo

__all__ = [
    "ENTITLEMENT_GRANT_DATE",
    "PASSWORD_VALID_CHARACTERS",
    "CreateAccountParameters",
    "CreateAccountRequest",
    "CreateAccountResponse",
    "Entitlement",
    "EntitlementStatus",
    "EntitlementType",
    "Entitlements",
    "FullLoginResponse",
    "GetAuthTokenResponse",
    "GetLegalDocContentRequest",
    "GetLegalDocContentResponse",
    "GetLegalDocsInfoRequest",
    "GetLegalDocsInfoResponse",
    "LegalContentResponse",
    "LegalDocsInfoResponse",
    "ListUserEntitlements2Request",
    "ListUserEntitlements2Response",
    "LoginErrorBody",
    "LoginPersonaRequest",
    "LoginPersonaResponse",
    "LoginRequest",
    "LoginResponse",
    "OriginLoginRequest",
    "PasswordForgotRequest",
    "PasswordRulesInfo",
    "PasswordRulesResponse",
    "ProductCatalog",
    "SilentLoginRequest",
    "TokenType",
    "UserProfileInfo",
]


class TokenType(enum.IntEnum):
    """
    The C{TYPE} of login requests (C{TOKENTYPE}).  ME3 sends 0 with login,
    2 with silentLogin and 1 with originLogin.
    """

    UNKNOWN = 0
    AUTH_TOKEN = 1
    PC_LOGIN_TOKEN = 2
    HANDOFF_TOKEN = 3


# ---------------------------------------------------------------------------
# Requests


@tdf.tdfStruct
@attrs.define
class LoginRequest:
    """
    login (1/0x28) request (C{Blaze::Authentication::LoginRequest}): email
    and password from the in-game prompt.

    Tags: C{DVID}, C{MAIL}, C{PASS}, C{TOKN}, C{TYPE}.
    """

    deviceId: int = tdf.member("DVID", tdf.UInt)
    email: str = tdf.member("MAIL", tdf.Str)
    password: str = tdf.member("PASS", tdf.Str)
    token: str = tdf.member("TOKN", tdf.Str)
    tokenType: int = tdf.member("TYPE", tdf.Int, default=TokenType.UNKNOWN)


@tdf.tdfStruct
@attrs.define
class SilentLoginRequest:
    """
    silentLogin (1/0x32) request (C{Blaze::Authentication::SilentLoginRequest}):
    the token ME3 stored from an earlier login.

    Tags: C{AUTH}, C{PID}, C{TYPE}.
    """

    authToken: str = tdf.member("AUTH", tdf.Str)
    personaId: int = tdf.member("PID", tdf.Int)
    tokenType: int = tdf.member("TYPE", tdf.Int, default=TokenType.PC_LOGIN_TOKEN)


@tdf.tdfStruct
@attrs.define
class OriginLoginRequest:
    """
    originLogin (1/0x98) request (C{Blaze::Authentication::OriginLoginRequest}):
    an Origin token.

    Tags: C{AUTH}, C{TYPE}.
    """

    authToken: str = tdf.member("AUTH", tdf.Str)
    tokenType: int = tdf.member("TYPE", tdf.Int, default=TokenType.AUTH_TOKEN)


@tdf.tdfStruct
@attrs.define
class LoginPersonaRequest:
    """
    loginPersona (1/0x6E) request (C{Blaze::Authentication::LoginPersonaRequest}).

    Tags: C{PNAM}.
    """

    personaName: str = tdf.member("PNAM", tdf.Str)


@tdf.tdfStruct
@attrs.define
class UserProfileInfo:
    """
    Optional profile data in account creation
    (C{Blaze::Authentication::UserProfileInfo}).

    Tags: C{CITY}, C{CTRY}, C{GNDR}, C{STAT}, C{STRT}, C{ZIP}.
    """

    city: str = tdf.member("CITY", tdf.Str)
    country: str = tdf.member("CTRY", tdf.Str)
    gender: int = tdf.member("GNDR", tdf.Int)
    state: str = tdf.member("STAT", tdf.Str)
    street: str = tdf.member("STRT", tdf.Str)
    zipCode: str = tdf.member("ZIP", tdf.Str)


@tdf.tdfStruct
@attrs.define
class CreateAccountParameters:
    """
    createAccount (1/0x0A) request
    (C{Blaze::Authentication::CreateAccountParameters}).

    Tags: C{BDAY}, C{BMON}, C{BYR}, C{CTRY}, C{DVID}, C{GEST}, C{LANG},
    C{MAIL}, C{OPT1}, C{OPT3}, C{PASS}, C{PNAM}, C{PRIV}, C{PRNT}, C{PROF},
    C{TOSV}, C{TSUI}.

    @ivar eaEmailAllowed: u8, 1 when EA may send email.
    @ivar thirdPartyEmailAllowed: u8, 1 when partners may send email.
    """

    birthDay: int = tdf.member("BDAY", tdf.Int)
    birthMonth: int = tdf.member("BMON", tdf.Int)
    birthYear: int = tdf.member("BYR", tdf.Int)
    country: str = tdf.member("CTRY", tdf.Str)
    deviceId: int = tdf.member("DVID", tdf.UInt)
    guest: bool = tdf.member("GEST", tdf.Bool)
    language: str = tdf.member("LANG", tdf.Str)
    email: str = tdf.member("MAIL", tdf.Str)
    eaEmailAllowed: int = tdf.member("OPT1", tdf.Int)
    thirdPartyEmailAllowed: int = tdf.member("OPT3", tdf.Int)
    password: str = tdf.member("PASS", tdf.Str)
    personaName: str = tdf.member("PNAM", tdf.Str)
    privacyPolicyUri: str = tdf.member("PRIV", tdf.Str)
    parentalEmail: str = tdf.member("PRNT", tdf.Str)
    profile: UserProfileInfo = tdf.member(
        "PROF", tdf.StructOf(UserProfileInfo), default=attrs.Factory(UserProfileInfo)
    )
    tosVersion: str = tdf.member("TOSV", tdf.Str)
    termsOfServiceUri: str = tdf.member("TSUI", tdf.Str)


#: The createAccount request under the name the server code uses.
CreateAccountRequest = CreateAccountParameters


@tdf.tdfStruct
@attrs.define
class PasswordForgotRequest:
    """
    passwordForgot (1/0x2D) request
    (C{Blaze::Authentication::PasswordForgotRequest}); the reply is empty.

    Tags: C{MAIL}.
    """

    email: str = tdf.member("MAIL", tdf.Str)


@tdf.tdfStruct
@attrs.define
class GetLegalDocsInfoRequest:
    """
    getLegalDocsInfo (1/0xF2) request
    (C{Blaze::Authentication::GetLegalDocsInfoRequest}).

    Tags: C{CTRY}, C{PTFM}.
    """

    country: str = tdf.member("CTRY", tdf.Str)
    platform: str = tdf.member("PTFM", tdf.Str)


@tdf.tdfStruct
@attrs.define
class GetLegalDocContentRequest:
    """
    getTermsOfServiceContent (1/0xF6) and getPrivacyPolicyContent (1/0x2F)
    request (C{Blaze::Authentication::GetLegalDocContentRequest}).

    Tags: C{CTRY}, C{LANG}, C{PTFM}, C{TEXT}.

    @ivar contentType: 0 plain text, 1 HTML.
    """

    country: str = tdf.member("CTRY", tdf.Str)
    language: str = tdf.member("LANG", tdf.Str)
    platform: str = tdf.member("PTFM", tdf.Str)
    contentType: int = tdf.member("TEXT", tdf.Int)


class EntitlementStatus(enum.IntEnum):
    """
    L{Entitlement.status} (C{STAT}).
    """

    UNKNOWN = 0
    ACTIVE = 1
    DISABLED = 2
    PENDING = 3
    DELETED = 4
    BANNED = 5


class EntitlementType(enum.IntEnum):
    """
    L{Entitlement.entitlementType} (C{TYPE}).
    """

    UNKNOWN = 0
    ONLINE_ACCESS = 1
    TRIAL_ONLINE_ACCESS = 2
    SUBSCRIPTIONS = 3
    PARENTAL_APPROVAL = 4
    DEFAULT = 5


class ProductCatalog(enum.IntEnum):
    """
    L{Entitlement.productCatalog} (C{PRCA}).
    """

    UNKNOWN = 0
    SKUD = 1
    OFB = 2


@tdf.tdfStruct
@attrs.define
class ListUserEntitlements2Request:
    """
    listUserEntitlements2 (1/0x1D) request
    (C{Blaze::Authentication::ListUserEntitlements2Request}).  The
    reference servers answer an empty body when C{ETAG} is non-empty.

    Tags: C{BUID}, C{EPSN}, C{EPSZ}, C{ETAG}, C{GDAY}, C{GNLS}, C{HAUP},
    C{PJID}, C{PRID}, C{RECU}, C{STAT}, C{TERD}, C{TYPE}.
    """

    userId: int = tdf.member("BUID", tdf.Int)
    pageNumber: int = tdf.member("EPSN", tdf.Int)
    pageSize: int = tdf.member("EPSZ", tdf.Int)
    entitlementTag: str = tdf.member("ETAG", tdf.Str)
    grantDate: str = tdf.member("GDAY", tdf.Str)
    groupNames: list[str] = tdf.member("GNLS", tdf.ListOf(tdf.Str))
    hasAuthorizedPersona: bool = tdf.member("HAUP", tdf.Bool)
    projectId: str = tdf.member("PJID", tdf.Str)
    productId: str = tdf.member("PRID", tdf.Str)
    recursiveSearch: bool = tdf.member("RECU", tdf.Bool)
    status: int = tdf.member("STAT", tdf.Int)
    terminationDate: str = tdf.member("TERD", tdf.Str)
    entitlementType: int = tdf.member("TYPE", tdf.Int)


# ---------------------------------------------------------------------------
# Replies


@tdf.tdfStruct
@attrs.define
class LoginResponse:
    """
    login (1/0x28) and createAccount (1/0x0A) reply
    (C{Blaze::Authentication::LoginResponse}).

    Tags: C{LDHT}, C{NTOS}, C{PCTK}, C{PLST}, C{PRIV}, C{SKEY}, C{SPAM},
    C{THST}, C{TSUI}, C{TURI}, C{UID}.

    Server-specific: C{pcLoginToken} (the token silentLogin later sends
    back), C{personas} (one L{PersonaDetails}), C{sessionKey}, C{userId}.
    """

    legalDocHost: str = tdf.member("LDHT", tdf.Str)
    needsLegalDoc: bool = tdf.member("NTOS", tdf.Bool)
    pcLoginToken: str = tdf.member("PCTK", tdf.Str)
    personas: list[PersonaDetails] = tdf.member(
        "PLST", tdf.ListOf(tdf.StructOf(PersonaDetails))
    )
    privacyPolicyUri: str = tdf.member("PRIV", tdf.Str)
    sessionKey: str = tdf.member("SKEY", tdf.Str)
    legalContactAge: bool = tdf.member("SPAM", tdf.Bool)
    tosHost: str = tdf.member("THST", tdf.Str)
    termsOfServiceUri: str = tdf.member("TSUI", tdf.Str)
    tosUri: str = tdf.member("TURI", tdf.Str)
    userId: int = tdf.member("UID", tdf.Int)


@tdf.tdfStruct
@attrs.define
class FullLoginResponse:
    """
    silentLogin (1/0x32), originLogin (1/0x98) and resumeSession reply
    (C{Blaze::Authentication::FullLoginResponse}).

    Tags: C{AGUP}, C{LDHT}, C{NTOS}, C{PCTK}, C{PRIV}, C{SESS}, C{SPAM},
    C{THST}, C{TSUI}, C{TURI}.

    Server-specific: C{pcLoginToken}, C{session}.
    """

    canAgeUp: bool = tdf.member("AGUP", tdf.Bool)
    legalDocHost: str = tdf.member("LDHT", tdf.Str)
    needsLegalDoc: bool = tdf.member("NTOS", tdf.Bool)
    pcLoginToken: str = tdf.member("PCTK", tdf.Str)
    privacyPolicyUri: str = tdf.member("PRIV", tdf.Str)
    session: SessionInfo = tdf.member(
        "SESS", tdf.StructOf(SessionInfo), default=attrs.Factory(SessionInfo)
    )
    legalContactAge: bool = tdf.member("SPAM", tdf.Bool)
    tosHost: str = tdf.member("THST", tdf.Str)
    termsOfServiceUri: str = tdf.member("TSUI", tdf.Str)
    tosUri: str = tdf.member("TURI", tdf.Str)


#: The loginPersona (1/0x6E) reply: the members of L{SessionInfo} (C{BUID},
#: C{FRST}, C{KEY}, C{LLOG}, C{MAIL}, C{PDTL}, C{UID}) as the whole body.
LoginPersonaResponse = SessionInfo


@tdf.tdfStruct
@attrs.define
class CreateAccountResponse:
    """
    The official createAccount reply and the error body of login failures
    (C{Blaze::Authentication::CreateAccountResponse}); ServerKotlin sends
    login errors with C{PNAM ""}, C{UID 0}.

    Tags: C{PNAM}, C{UID}.
    """

    personaName: str = tdf.member("PNAM", tdf.Str)
    userId: int = tdf.member("UID", tdf.Int)


#: The body of a login error reply.
LoginErrorBody = CreateAccountResponse


@tdf.tdfStruct
@attrs.define
class GetAuthTokenResponse:
    """
    getAuthToken (1/0x24) reply (C{Blaze::Authentication::GetAuthTokenResponse}):
    the token ME3 then uses for Galaxy at War over HTTP.

    Tags: C{AUTH}.
    """

    authToken: str = tdf.member("AUTH", tdf.Str)


@tdf.tdfStruct
@attrs.define
class GetLegalDocsInfoResponse:
    """
    getLegalDocsInfo (1/0xF2) reply
    (C{Blaze::Authentication::GetLegalDocsInfoResponse}); the reference
    server sends all zero/empty, the defaults.

    Tags: C{EAMC}, C{LHST}, C{PMC}, C{PPUI}, C{TSUI}.
    """

    eaMayContact: int = tdf.member("EAMC", tdf.UInt)
    legalDocHost: str = tdf.member("LHST", tdf.Str)
    partnersMayContact: int = tdf.member("PMC", tdf.UInt)
    privacyPolicyUri: str = tdf.member("PPUI", tdf.Str)
    termsOfServiceUri: str = tdf.member("TSUI", tdf.Str)


#: getLegalDocsInfo's reply under the name the server code uses.
LegalDocsInfoResponse = GetLegalDocsInfoResponse


@tdf.tdfStruct
@attrs.define
class GetLegalDocContentResponse:
    """
    getTermsOfServiceContent (1/0xF6) and getPrivacyPolicyContent (1/0x2F)
    reply (C{Blaze::Authentication::GetLegalDocContentResponse}).

    Tags: C{LDVC}, C{TCOL}, C{TCOT}.

    Server-specific: all.  The reference server sends a document path
    (C{LDVC}), a content length (C{TCOL}; 0xDAED for the terms, 0xC99C
    for the privacy policy) and the HTML (C{TCOT}).
    """

    version: str = tdf.member("LDVC", tdf.Str)
    contentLength: int = tdf.member("TCOL", tdf.UInt)
    content: str = tdf.member("TCOT", tdf.Str)


#: The legal document reply under the name the server code uses.
LegalContentResponse = GetLegalDocContentResponse

#: The password characters ServerKotlin allowed.
PASSWORD_VALID_CHARACTERS = (
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    "[]`!@#$%^&*()_={}:;<>+-',.~?/|\\"
)


@tdf.tdfStruct
@attrs.define
class PasswordRulesInfo:
    """
    getPasswordRules (1/0x26) reply
    (C{Blaze::Authentication::PasswordRulesInfo}); defaults as ServerKotlin
    sent them.

    Tags: C{MAXS}, C{MINS}, C{VDCH}.
    """

    maxLength: int = tdf.member("MAXS", tdf.Int, default=64)
    minLength: int = tdf.member("MINS", tdf.Int, default=4)
    validCharacters: str = tdf.member(
        "VDCH", tdf.Str, default=PASSWORD_VALID_CHARACTERS
    )


#: getPasswordRules's reply under the name the server code uses.
PasswordRulesResponse = PasswordRulesInfo

#: The grant date the reference server puts on every entitlement.
ENTITLEMENT_GRANT_DATE = "2012-12-15T16:15Z"


@tdf.tdfStruct
@attrs.define
class Entitlement:
    """
    One entitlement (C{Blaze::Authentication::Entitlement}).

    Tags: C{DEVI}, C{GDAY}, C{GNAM}, C{ID}, C{ISCO}, C{PID}, C{PJID},
    C{PRCA}, C{PRID}, C{STAT}, C{STRC}, C{TAG}, C{TDAY}, C{TYPE}, C{UCNT},
    C{VER}.

    Per entitlement: C{groupName} ("ME3PCOffers" or "ME3GenOffers"),
    C{id}, C{projectId}, C{productCatalog}, C{productId},
    C{entitlementTag}, C{entitlementType}; the rest default to what the
    reference server sends (granted 2012-12-15, status active).
    """

    deviceUri: str = tdf.member("DEVI", tdf.Str)
    grantDate: str = tdf.member("GDAY", tdf.Str, default=ENTITLEMENT_GRANT_DATE)
    groupName: str = tdf.member("GNAM", tdf.Str)
    id: int = tdf.member("ID", tdf.UInt)
    consumable: bool = tdf.member("ISCO", tdf.Bool)
    personaId: int = tdf.member("PID", tdf.Int)
    projectId: str = tdf.member("PJID", tdf.Str)
    productCatalog: int = tdf.member("PRCA", tdf.Int)
    productId: str = tdf.member("PRID", tdf.Str)
    status: int = tdf.member("STAT", tdf.Int, default=EntitlementStatus.ACTIVE)
    statusReasonCode: int = tdf.member("STRC", tdf.Int)
    entitlementTag: str = tdf.member("TAG", tdf.Str)
    terminationDate: str = tdf.member("TDAY", tdf.Str)
    entitlementType: int = tdf.member("TYPE", tdf.Int)
    useCount: int = tdf.member("UCNT", tdf.UInt)
    version: int = tdf.member("VER", tdf.UInt)


@tdf.tdfStruct
@attrs.define
class Entitlements:
    """
    listUserEntitlements2 (1/0x1D) reply
    (C{Blaze::Authentication::Entitlements}).

    Tags: C{NLST}.
    """

    entitlements: list[Entitlement] = tdf.member(
        "NLST", tdf.ListOf(tdf.StructOf(Entitlement))
    )


#: listUserEntitlements2's reply under the name the server code uses.
ListUserEntitlements2Response = Entitlements
