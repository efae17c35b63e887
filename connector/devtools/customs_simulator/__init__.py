"""A customs system in miniature, for demos and tests: it receives SubmitControlResult.

It serves the callback WSDL, checks the connector's UsernameToken, validates each request
against the XSD (so a test that passes proves the connector sends what the contract says),
records every call and answers a repeated CallbackId as a duplicate, as a real customs
system should (contract 4).
"""
