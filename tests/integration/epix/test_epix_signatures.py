"""Signed ePermits from EPIX (docs/signatures.md): a permit the hub serves signed by the
South African Management Authority is stored with its signer; one altered after signing is
refused, so the permit stays unknown (PERMIT_UNKNOWN naming the refusal) and nothing is
stored."""

from __future__ import annotations

from tests.integration.epix.epix_kit import connector, epix_hub, parrots
from tests.signing import altered, signed, south_africa


def test_a_signed_epix_answer_is_stored_with_its_signer(tmp_path):
    authority = south_africa()
    authority.write(tmp_path / "trust" / "ZA.pem")
    with epix_hub(tmp_path, signed(authority)) as hub:
        with connector(
            tmp_path, hub, epermit_signatures="require", epermit_trust_dir=tmp_path / "trust"
        ) as running:
            result = running.check("WDHA-I-SIGNED", parrots(24))
            assert result["Decision"] == "CLEARED", result
            permit = running.permit()
            assert permit is not None
            assert permit.signer == (
                "CN=Department of Forestry\\, Fisheries and the Environment, C=ZA"
            )


def test_a_badly_signed_epix_answer_leaves_the_permit_unknown(tmp_path):
    authority = south_africa()
    authority.write(tmp_path / "trust" / "ZA.pem")
    with epix_hub(tmp_path, altered(signed(authority))) as hub:
        with connector(tmp_path, hub, epermit_trust_dir=tmp_path / "trust") as running:
            result = running.check("WDHA-I-FORGED", parrots(24))
            assert result["Decision"] == "HELD"
            reasons = result["Items"][0]["Reasons"]
            unknown = [r for r in reasons if r["Code"] == "PERMIT_UNKNOWN"]
            assert unknown, reasons
            assert "SIGNATURE_INVALID" in unknown[0]["Message"]
            assert running.permit() is None


def test_an_unsigned_epix_answer_is_refused_under_require(tmp_path):
    with epix_hub(tmp_path) as hub:
        with connector(
            tmp_path, hub, epermit_signatures="require", epermit_trust_dir=tmp_path / "trust"
        ) as running:
            result = running.check("WDHA-I-UNSIGNED", parrots(24))
            assert result["Decision"] == "HELD"
            messages = [r["Message"] for r in result["Items"][0]["Reasons"]]
            assert any("SIGNATURE_MISSING" in m for m in messages), messages
            assert running.permit() is None


def test_an_unsigned_epix_answer_is_flagged_under_verify(tmp_path):
    with epix_hub(tmp_path) as hub:
        with connector(tmp_path, hub, epermit_trust_dir=tmp_path / "trust") as running:
            result = running.check("WDHA-I-UNSIGNED", parrots(24))
            assert result["Decision"] == "CLEARED", result
            flags = [f["Code"] for f in result["Items"][0]["RiskFlags"]]
            assert "PERMIT_UNSIGNED" in flags
            assert running.permit().unsigned
