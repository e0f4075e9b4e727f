# -*- test-case-name: tests.test_messages -*-
"""
Declared Mass Effect 3 Blaze messages: one L{tdfStruct
<pocketrelay.blaze.tdf.tdfStruct>} class per Blaze struct, grouped by
component.

  - L{common}: addresses, QoS data, user identification, personas,
    sessions, user session extended data.
  - L{redirector}: getServerInstance.
  - L{util}: preAuth, postAuth, ping, client config, user settings,
    metrics.
  - L{auth}: logins, personas, entitlements, legal documents.
  - L{usersessions}: network info, lookups and the user notifications.
  - L{messaging}, L{stats}, L{associations}, L{gamereporting}.
  - L{gamemanager}: games, matchmaking and their notifications, with the
    enums in L{gameenums}.

Defaults are the values the ME3 emulators send, so a default-constructed
reply needs only its server-specific members filled in; each class
docstring names them.  Import the submodules directly; this package
imports nothing.
"""
