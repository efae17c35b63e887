"""Where a CITES ePermit keeps each permit field, per Electronic Permitting Toolkit version.

The paths follow the Toolkit's XML schemas as EPIX (UNEP-WCMC's exchange hub) serves them
(primer, "Electronic permits"): ``HeaderExchangedDocument`` carries the permit itself,
``SpecifiedSupplyChainConsignment`` the traders and one ``IncludedSupplyChainConsignmentItem``
per line of the CITES form (boxes 7-12). Toolkit v1 (``CBFShip``) and v2 (``CITESEPermit``)
differ, for what the connector reads, only in where an address keeps its country. Paths are
local names: namespaces are not matched below the root, because EPIX itself returns the root
without one and national systems bind the Toolkit's namespaces to prefixes of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from cites_connector.domain.permits import PermitType

Path = tuple[str, ...]

#: the namespace of the Toolkit's reusable parts (parties, lines); named for whoever writes
#: ePermits, not matched when reading (see above)
REUSABLE_NAMESPACE = "urn:un:unece:uncefact:data:draft:ReusableAggregateBusinessInformationEntity:1"
SOAP_NAMESPACES = (
    "http://schemas.xmlsoap.org/soap/envelope/",  # SOAP 1.1, as EPIX speaks it
    "http://www.w3.org/2003/05/soap-envelope",  # SOAP 1.2
)


@dataclass(frozen=True)
class Toolkit:
    name: str
    root: str
    namespace: str
    #: the country of a party, relative to the party element
    party_country: Path


TOOLKIT_V2 = Toolkit(
    name="Toolkit v2",
    root="CITESEPermit",
    namespace="urn:un:unece:uncefact:data:standard:CITESEPermit:2",
    party_country=("PostalTradeAddress", "CountryID"),
)
TOOLKIT_V1 = Toolkit(
    name="Toolkit v1",
    root="CBFShip",
    namespace="urn:un:unece:uncefact:data:draft:CBFShip:1",
    party_country=("PostalTradeAddress", "CountryIdentificationTradeCountry", "ID"),
)
TOOLKITS = {toolkit.root: toolkit for toolkit in (TOOLKIT_V2, TOOLKIT_V1)}

HEADER = ("HeaderExchangedDocument",)
CONSIGNMENT = ("SpecifiedSupplyChainConsignment",)
SIGNATORY = HEADER + ("FirstSignatoryDocumentAuthentication",)

#: header fields, relative to the root (permit form boxes 1, 2, 5a, 13 and the stamp, box 14)
PERMIT_NUMBER = HEADER + ("ID",)
TYPE_CODE = HEADER + ("TypeCode",)
ISSUED = HEADER + ("IssueDateTime",)
VALID_FROM = HEADER + ("EffectiveSpecifiedPeriod", "StartDateTime")
VALID_UNTIL = HEADER + ("EffectiveSpecifiedPeriod", "EndDateTime")
PURPOSE = HEADER + ("PurposeCode",)
REPLACES = HEADER + ("ReferenceReferencedDocument", "ID")
SECURITY_STAMP = SIGNATORY + ("ID",)
#: the Management Authority that signed first issued the permit (contract 3.1)
AUTHORITY = SIGNATORY + ("ProviderTradeParty",)
EXPORTER = CONSIGNMENT + ("ConsignorTradeParty",)
IMPORTER = CONSIGNMENT + ("ConsigneeTradeParty",)
LINES = CONSIGNMENT + ("IncludedSupplyChainConsignmentItem",)

#: party fields, relative to the party element
PARTY_NAME = ("Name",)
PARTY_ID = ("ID",)

#: line fields, relative to ``IncludedSupplyChainConsignmentItem``
TRADE_LINE = ("IncludedSupplyChainTradeLineItem",)
PRODUCT = TRADE_LINE + ("SpecifiedTradeProduct",)
LINE_LETTER = ("ID",)
TAXON = PRODUCT + ("ScientificName",)
TERM = PRODUCT + ("TypeCode",)
DESCRIPTION = PRODUCT + ("Description",)
APPENDIX = TRADE_LINE + ("TypeCode",)
SOURCE = TRADE_LINE + ("TypeExtensionCode",)
QUANTITY = ("TransportLogisticsPackage", "ItemQuantity")
ORIGIN = ("OriginTradeCountry", "ID")
COMMON_NAME = PRODUCT + ("CommonName",)
#: box 14, the quantity the exporting country's officer endorsed: v2 ``UnitQuantity``, v1
#: ``InspectedUnitQuantity`` (both read in either version: national systems mix them)
EXPORTED_QUANTITY = (
    ("ExaminationTransportEvent", "UnitQuantity"),
    ("ExaminationTransportEvent", "InspectedUnitQuantity"),
)
#: boxes 12 and 12a: documents the specimens came in on, told apart by UN/EDIFACT 1001 code
#: as EPIX reads them (unepwcmc/epix ``Cites::PermitLineItemMapping``): 861 the permit of the
#: country of origin (box 12), 811 the certificate of the country of last re-export (box 12a),
#: whose country is ``ExportTradeCountry``
REFERENCED_DOCUMENT = ("AssociatedReferencedDocument",)
ORIGIN_PERMIT_CODE = "861"
LAST_RE_EXPORT_CODE = "811"
LAST_RE_EXPORT_COUNTRY = ("ExportTradeCountry", "ID")
#: box 5, special conditions (permit level)
SPECIAL_CONDITIONS = HEADER + ("Information",)

#: ``HeaderExchangedDocument/TypeCode``: the form's box 1 (contract 3.1)
TYPE_CODES = {
    "E": PermitType.EXPORT,
    "R": PermitType.RE_EXPORT,
    "I": PermitType.IMPORT,
    "O": PermitType.OTHER,
}

#: UN/ECE Recommendation 20 codes (what ePermits built on UN/CEFACT write in ``unitCode``) to
#: CITES units; ``None`` is a number of specimens. CITES codes pass through unchanged, so
#: ``MLT``, ``MGM`` and ``SET``, spelt alike in both lists, need no entry. Customs' ``CTM``
#: (metric carat) never reaches here: a permit's ``CTM`` is the CITES centimetre.
REC20_UNITS: dict[str, str | None] = {
    "KGM": "KIL",
    "GRM": "GRM",
    "TNE": "TON",
    "MTQ": "CUM",
    "CMQ": "CCM",
    "LTR": "LTR",
    "MTR": "MTR",
    "CMT": "CTM",
    "MTK": "SQM",
    "CMK": "SQC",
    "PR": "PAI",
    "NAR": None,
    "C62": None,
    "H87": None,
}


def show(path: Path) -> str:
    """A path as messages name it: ``HeaderExchangedDocument/TypeCode``."""
    return "/".join(path)
