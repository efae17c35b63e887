"""The trust store's folder (docs/signatures.md): ``CC.pem`` and ``CC/*.pem``, read again when
a file changes, unreadable files skipped, nothing trusted for a name that is not a country."""

from __future__ import annotations

from cites_connector.adapters.epermit_trust import TrustStore
from cites_connector.devtools.epermit_signing import make_authority


def test_both_layouts_are_read_and_a_new_certificate_needs_no_restart(tmp_path):
    first, second, third = (make_authority("ZA", f"DFFE {n}") for n in range(3))
    first.write(tmp_path / "ZA.pem")
    second.write(tmp_path / "ZA" / "2027.pem")
    store = TrustStore(tmp_path)
    assert store.certificates("ZA") == [first.certificate, second.certificate]
    third.write(tmp_path / "ZA" / "2028.pem")
    assert third.certificate in store.certificates("ZA")
    assert store.countries() == ["ZA"]


def test_an_unreadable_file_is_skipped_and_odd_names_trust_nobody(tmp_path):
    (tmp_path / "NA.pem").write_text("not a certificate")
    store = TrustStore(tmp_path)
    assert store.certificates("NA") == []
    assert store.certificates("../NA") == []
    assert store.certificates("na") == []
    assert TrustStore(tmp_path / "missing").certificates("NA") == []
