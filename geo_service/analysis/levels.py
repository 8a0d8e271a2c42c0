"""Health-facility levels from a ``type`` column: first-contact care, or referral (AccessMod's referral question).

Facility lists name their types in many ways (WHO/KEMRI's "Referral Health
Centre", Mali's CSRef, Senegal's "Hôpital Régional", …): a type naming a
referral centre or a hospital is *referral*; any other type is *first
contact* (health posts, community and health centres, clinics, dispensaries).
"""

from __future__ import annotations

import re

import pandas as pd

LEVELS = ("first_contact", "referral")
_REFERRAL = re.compile(r"referral|r[ée]f[ée]rence|\bcsref\b|hospital|h[ôo]pital|\beps\b", re.IGNORECASE)


def facility_levels(types: pd.Series) -> pd.Series:
    """``referral`` or ``first_contact`` for each facility; a facility of unknown type is left out (NA)."""
    text = types.astype("string").str.strip()
    level = pd.Series(pd.NA, index=types.index, dtype="string")
    known = text.notna() & (text != "")
    level[known] = text[known].map(lambda t: "referral" if _REFERRAL.search(t) else "first_contact")
    return level
