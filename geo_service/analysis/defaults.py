"""Defaults of the access analysis, with their sources; a module of plain numbers, so the command line can
show them without importing the analysis."""

# Within this distance of a crossing's points a route to it may meet the barrier line: 0.2 mm at
# 1:3,000,000 (World Data Bank II rivers), the usual positional accuracy of a map at its scale.
CROSSING_TOLERANCE_M = 600.0
# Walking speed: AccessMod's example for walking on flat bare soil or built-up land (user manual, 5.x).
WALK_KMH = 5.0
# Path length against the straight line: a circuity of about 1.2 (Newell 1980; O'Sullivan 1996: 1.21–1.23).
WALK_DETOUR = 1.2
