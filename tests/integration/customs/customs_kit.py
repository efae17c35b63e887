"""Credentials the simulator fixtures expect from the connector."""

USER, PASSWORD = "connector", "s3cret-callback"
