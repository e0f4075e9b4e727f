# -*- test-case-name: tests.test_emails -*-
"""
The one canonical form of an email address.

Every comparison of email addresses (account creation, login, a change of
address, the uniqueness constraint of the store, the administration tool
and the import from the Rust server) goes through L{canonicalEmail}, and
the store keeps only canonical addresses, so no two parts of the server
can disagree about whether two spellings name the same account.

The canonical form is the address with surrounding white space removed,
normalised to Unicode NFKC, case-folded (C{str.casefold}) and normalised
to NFKC again (the C{NFKC_Casefold} idea of Unicode TR 31/UAX 15):

  - C{"Kate@Kiwi.example"} and C{"\\u212aate@kiwi.example"} (KELVIN SIGN)
    are both C{"kate@kiwi.example"};
  - full-width C{"\\uff4bate@kiwi.example"} is C{"kate@kiwi.example"};
  - C{"stra\\u00dfe@x.example"} (sharp s) is C{"strasse@x.example"}.

A I{new} address (an account being created, an address being changed)
must also be printable ASCII once canonical (L{isValidEmail}): letters
that fold to no ASCII letter, such as the dotless C{"\\u0131"} or the
dotted capital C{"\\u0130"} (which folds to C{"i"} plus a combining dot),
and look-alikes from other scripts are refused, so two accounts never
differ only by characters that look the same.  Logging in still accepts
any spelling that folds to the stored address.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

__all__ = [
    "MAX_EMAIL_LENGTH",
    "canonicalEmail",
    "checkedEmail",
    "isValidEmail",
    "loginEmail",
]

#: Longest email address accepted, in characters (RFC 5321 path limit).
MAX_EMAIL_LENGTH: Final = 254

# Printable ASCII but "@" and space: a local part of 1 to 64 characters,
# one "@", a domain with a dot.
_ATOM = r"[\x21-\x3f\x41-\x7e]"
_EMAIL = re.compile(rf"{_ATOM}{{1,64}}@{_ATOM}+\.{_ATOM}+")
# Any characters but "@", white space and controls: what an address made
# before the ASCII rule (or imported) may hold.
_ANY = r"[^@\s\x00-\x1f\x7f]"
_LOGIN = re.compile(rf"{_ANY}{{1,64}}@{_ANY}+\.{_ANY}+")


def canonicalEmail(text: str) -> str:
    """
    The canonical form of an email address (see the module docstring).
    Idempotent: C{canonicalEmail(canonicalEmail(x)) == canonicalEmail(x)}.
    """
    folded = unicodedata.normalize("NFKC", text.strip()).casefold()
    return unicodedata.normalize("NFKC", folded).strip()


def isValidEmail(text: str) -> bool:
    """
    Whether C{text} may be the address of a new account: once canonical,
    printable ASCII with one C{@}, 1 to 64 characters before it, a dot in
    the domain and at most L{MAX_EMAIL_LENGTH} characters.
    """
    return checkedEmail(text) is not None


def checkedEmail(text: str) -> str | None:
    """
    The canonical form of C{text} if it may be the address of a new
    account (see L{isValidEmail}), else L{None}.
    """
    if len(text) > 4 * MAX_EMAIL_LENGTH:
        # NFKC can expand text, never by more than a small factor: refuse
        # huge input before normalising it.
        return None
    email = canonicalEmail(text)
    if len(email) > MAX_EMAIL_LENGTH or not email.isascii():
        return None
    return email if _EMAIL.fullmatch(email) else None


def loginEmail(text: str) -> str | None:
    """
    The canonical form of C{text} if it can name an existing account: as
    L{checkedEmail} but letters beyond ASCII are allowed, since accounts
    imported or made before the ASCII rule may have them.  L{None} for
    anything that is not shaped like an email address.
    """
    if len(text) > 4 * MAX_EMAIL_LENGTH:
        return None
    email = canonicalEmail(text)
    if len(email) > MAX_EMAIL_LENGTH or not _LOGIN.fullmatch(email):
        return None
    return email
