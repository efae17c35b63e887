"""Where the callback's WSDL and XSD live, and the names in them (fixed by contract 4)."""

from __future__ import annotations

from pathlib import Path

WSDL_DIR = Path(__file__).resolve().parent / "wsdl"
WSDL_PATH = WSDL_DIR / "customs-callback.wsdl"
XSD_PATH = WSDL_DIR / "customs-callback.xsd"
NAMESPACE = "urn:cites-connector:customs-callback:1"
BINDING = f"{{{NAMESPACE}}}CustomsCallbackBinding"
OPERATION = "SubmitControlResult"
