"""The SAD mapping's scope finds what ``find``/``findall`` find (issue 14 replaced them)."""

from __future__ import annotations

import pytest
from lxml import etree

from cites_connector.mappings.sad_scope import Scope, plan

TREE = etree.fromstring(
    b"<Item>"
    b"<A><!-- note --><B>first-b-of-first-a</B><B>second-b</B><C/></A>"
    b"<A><C>c-of-second-a</C><B>b-of-second-a</B></A>"
    b"<?pi x?><D><E><F>deep</F></E><E><F>deeper</F></E></D>"
    b'<G xmlns="urn:other">namespaced</G><B>item-level-b</B>'
    b"</Item>"
)
PATHS = ("A", "A/B", "A/C", "D/E/F", "D/E", "B", "G", "X", "A/X", "X/Y")


@pytest.mark.parametrize("path", PATHS)
def test_all_is_findall_in_document_order(path):
    scope = Scope(TREE, plan(PATHS))
    assert scope.all(path) == TREE.findall(path)


def test_first_reads_the_first_element_of_the_first_path_with_a_value():
    scope = Scope(TREE, plan(PATHS))
    # the first A/C is empty: find gives it, and it has no value; the next path is tried
    assert TREE.find("A/C").text is None
    assert scope.first(("X", "A/C", "A/B")) == ("A/B", "first-b-of-first-a")
    assert scope.first(("D/E/F",)) == ("D/E/F", "deep")
    assert scope.first(("G", "X")) is None  # a namespaced G is not the G of a path


def test_a_path_outside_the_plan_is_a_programming_error():
    scope = Scope(TREE, plan(("A",)))
    with pytest.raises(ValueError, match="not one of the paths"):
        scope.all("B")
    with pytest.raises(ValueError, match="not one of the paths"):
        scope.first(("B",))
