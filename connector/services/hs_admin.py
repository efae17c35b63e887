"""The HS table administration service: drafts, four-eyes review, publication, rollback.

Split by job: reading (hs_reading.py), drafts (hs_drafting.py), the impact preview
(hs_impact.py), review and publication (hs_publishing.py), on a shared part (hs_admin_base.py).
Every writing method takes the acting user, checks the user's role (settings ``hs_roles``),
changes the tables and appends the audit record in one unit of work. Reading methods need no
more than the viewer role, which every user has.
"""

from __future__ import annotations

from cites_connector.services.hs_admin_base import LookupAnswer, Overview, Published
from cites_connector.services.hs_drafting import HsDrafting
from cites_connector.services.hs_impact import HsImpactPreview
from cites_connector.services.hs_publishing import HsPublishing
from cites_connector.services.hs_reading import HsReading

__all__ = ["HsAdminService", "LookupAnswer", "Overview", "Published"]


class HsAdminService(HsReading, HsDrafting, HsImpactPreview, HsPublishing):
    """The whole administration, as the CLI uses it (constructor: ``HsAdminBase``)."""
