"""Where the EPIX WSDL lives, and the names in it (adapters/epix/wsdl/epix.wsdl: derived from
the open-source hub, its header says from which file)."""

from __future__ import annotations

from pathlib import Path

WSDL_DIR = Path(__file__).resolve().parent / "wsdl"
WSDL_PATH = WSDL_DIR / "epix.wsdl"
NAMESPACE = "urn:CitesDataExchange"
BINDING = f"{{{NAMESPACE}}}CitesDataExchangeBinding"
GET_FINAL = "GetFinalCitesCertificate"
GET_NON_FINAL = "GetNonFinalCitesCertificate"
CONFIRM = "ConfirmQuantities"
SERVICE_STATE = "ServiceState"
OPERATIONS = (GET_FINAL, GET_NON_FINAL, CONFIRM, SERVICE_STATE)
