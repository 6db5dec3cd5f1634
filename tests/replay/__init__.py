"""Replay driver: the app's real orchestrators run through azure-functions-durable's own replay code.

``driver.ReplayHost`` plays the Durable Functions host (history JSON in, actions out, no
Functions host); ``shim`` re-enacts how the extension turns the returned actions into Durable
Task decisions (sequence numbers, retries, nondeterminism); ``history`` builds the events.
"""
