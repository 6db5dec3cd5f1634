"""Notifications: events, settings, rendering and sending (Apprise)."""
