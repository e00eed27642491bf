"""Names every stage shares: land types, uses, and the layers and tables of the files dualuse reads and writes.

Nothing here imports anything of dualuse: every other module may depend on it.
"""

from __future__ import annotations

#: LDN land types (land-cover classes), in the order of their integer codes.
LAND_TYPES: tuple[str, ...] = (
    "cropland", "grassland", "shrubland", "forest", "wetland", "bare", "artificial", "water",
)

#: The land uses a plan allocates, in the order of their integer codes.
USES: tuple[str, ...] = ("current", "solar", "agrivoltaic", "grazing", "restoration")

#: A use's place in the LDN response hierarchy (Cowie et al. 2018, as Trends.Earth's planning tool credits it):
#: ``reverse`` (restoration) creates counterbalancing gains and halts decline; ``reduce`` and ``avoid`` halt
#: decline but gain nothing; ``none`` does neither.
LDN_RESPONSES: tuple[str, ...] = ("none", "avoid", "reduce", "reverse")
#: How the baseline trend enters the status at the horizon: ``stable`` (the baseline status holds; only what the
#: plan changes counts) or ``persist`` (business as usual: the baseline trend recurs to the horizon).
LDN_BASELINES: tuple[str, ...] = ("stable", "persist")

#: The CRS in which every area is computed: WGS 84 / NSIDC EASE-Grid 2.0 Global,
#: an ellipsoidal equal-area projection valid worldwide.
EQUAL_AREA_CRS = "EPSG:6933"
M2_PER_HA = 10_000.0

# --- the region GeoPackage (input)
#: The parcel layer read when none is named.
PARCELS_LAYER = "parcels"
#: The optional layer or table of communities, in a region and in a plan.
COMMUNITIES_LAYER = "communities"
#: The table in which ``dualuse prepare`` records its sources.
SOURCES_TABLE = "prepare_sources"

# --- the plan GeoPackage (output)
PLAN_LAYER = "plan"
SUMMARY_TABLE = "summary"
#: The LDN balance per land type under both baseline assumptions.
LDN_BALANCE_TABLE = "ldn_balance"
RUN_TABLE = "run"
#: The table from which QGIS reads a layer's default style.
STYLES_TABLE = "layer_styles"

# --- study folders
SWEEP_TABLE = "sweep"
FRONT_TABLE = "front"

# --- drought years (region input and plan output)
#: The optional table of each parcel's productivity in each drought year of the region.
PRODUCTIVITY_SCENARIOS_TABLE = "productivity_scenarios"
#: The optional table of the drought years' probabilities.
DROUGHT_SCENARIOS_TABLE = "scenarios"
#: The plan's table of harvest and energy per drought year (robust plan and nominal plan side by side).
DROUGHT_YEARS_TABLE = "drought_years"
#: The stress test's tables: per drought year for the region, and per drought year and community.
STRESS_TABLE = "stress"
STRESS_COMMUNITIES_TABLE = "stress_communities"
