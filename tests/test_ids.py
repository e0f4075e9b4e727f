# -*- test-case-name: tests.test_ids -*-
"""
Tests for L{pocketrelay.blaze.ids}: readable names for components,
commands, notifications and errors.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from pocketrelay.blaze import ids


class NameTests(SynchronousTestCase):
    """
    L{ids.componentName}, L{ids.commandName}, L{ids.notificationName} and
    L{ids.errorName}.
    """

    def test_component(self) -> None:
        """
        Known components have CapWords names; unknown ones are hex.
        """
        self.assertEqual(ids.componentName(9), "Util")
        self.assertEqual(ids.componentName(0x7802), "UserSessions")
        self.assertEqual(ids.componentName(ids.Component.GAME_MANAGER), "GameManager")
        self.assertEqual(ids.componentName(0x1234), "0x1234")

    def test_command(self) -> None:
        """
        A command is named C{Component.commandName}.
        """
        self.assertEqual(ids.commandName(9, 2), "Util.ping")
        self.assertEqual(ids.commandName(5, 1), "Redirector.getServerInstance")
        self.assertEqual(ids.commandName(1, 0x28), "Authentication.login")
        self.assertEqual(
            ids.commandName(0x7802, 0x14), "UserSessions.updateNetworkInfo"
        )

    def test_unknownCommand(self) -> None:
        """
        Unknown commands and components are shown in hex.
        """
        self.assertEqual(ids.commandName(9, 0x99), "Util.0x99")
        self.assertEqual(ids.commandName(0x1234, 2), "0x1234.0x02")
        # DynamicInetFilter is a known component without a command table.
        self.assertEqual(ids.commandName(0x7D0, 1), "DynamicInetFilter.0x01")

    def test_notification(self) -> None:
        """
        Notifications are looked up in their own table, not the commands'.
        """
        self.assertEqual(ids.notificationName(4, 0x14), "GameManager.gameSetup")
        self.assertEqual(
            ids.commandName(4, 0x14), "GameManager.returnDedicatedServerToPool"
        )
        self.assertEqual(ids.notificationName(0x7802, 2), "UserSessions.userAdded")
        self.assertEqual(ids.notificationName(4, 0xEEEE), "GameManager.0xeeee")
        self.assertEqual(ids.notificationName(9, 1), "Util.0x01")

    def test_globalError(self) -> None:
        """
        Errors with the 0x4000 bit are framework errors, whatever the
        component.
        """
        self.assertEqual(ids.errorName(1, 0x4001), "system")
        self.assertEqual(ids.errorName(9, 0x4003), "commandNotFound")
        self.assertEqual(ids.errorName(9, 0x4FFF), "0x4fff")

    def test_componentError(self) -> None:
        """
        Other errors are looked up in the component's table.
        """
        self.assertEqual(ids.errorName(1, 0x0B), "invalidUser")
        self.assertEqual(ids.errorName(4, 0x04), "gameFull")
        self.assertEqual(ids.errorName(9, 0x12E), "pingSuspended")
        self.assertEqual(ids.errorName(1, 0x99), "0x99")
        self.assertEqual(ids.errorName(0x1234, 0x0B), "0x0b")
