"""
Tests for L{pocketrelay}.
"""
