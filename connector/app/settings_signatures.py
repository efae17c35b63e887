"""Signed ePermit settings (docs/signatures.md): the policy and the trust store.

``epermit_signatures``: ``require`` refuses an unsigned or badly signed ePermit, ``verify``
(the default) refuses a bad signature and accepts an unsigned document with the risk flag
PERMIT_UNSIGNED, ``off`` does not look. ``epermit_trust_dir`` holds the issuing Management
Authorities' certificates, ``<CC>.pem`` or ``<CC>/*.pem`` per country (default
``<data_dir>/trust``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel


class SignatureSettings(BaseModel):
    #: require, verify or off (see the module's docstring)
    epermit_signatures: Literal["require", "verify", "off"] = "verify"
    #: the trust store's folder; None: <data_dir>/trust
    epermit_trust_dir: Path | None = None
