"""Per (parcel, use) coefficients: pure, vectorised numpy from Region × Catalogue × Scenario.

Only eligible (parcel, use) pairs are kept: the result is a flat list of
pairs (``parcel``, ``use``) with one coefficient array each, which is the
model's variable index.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dualuse.inputs.adjacency import Adjacency, region_adjacency
from dualuse.inputs.catalogue import Catalogue
from dualuse.inputs.region import Region
from dualuse.inputs.scenario import MTF_TIER_KWH_YR, Scenario
from dualuse.model.drought_years import DroughtCoefficients, drought_coefficients
from dualuse.model.ldn import balance_class, ldn_classes, sdg_status
from dualuse.model.livelihood_values import livelihood_values
from dualuse.model.memo import kept
from dualuse.model.per_parcel import starts_of
from dualuse.vocabulary import LAND_TYPES, USES

KWH_PER_MWH = 1000.0


@dataclass(frozen=True, eq=False)
class Coefficients:
    """The model's data: one entry per eligible (parcel, use) pair, plus per-parcel and per-community arrays.

    Attributes
    ----------
    n_parcels : int — number of parcels
    parcel, use : ndarray of int — the pair's parcel index and use index (into :data:`USES`)
    energy_mwh : ndarray — yearly PV generation of the whole parcel under the use [MWh/yr]
    capacity_mwp : ndarray — PV capacity of the whole parcel under the use [MWp]
    productivity_t : ndarray — yearly harvest of the whole parcel under the use [t DM/yr]
    cost_usd : ndarray — capital cost of the whole parcel under the use [USD]
    ldn_status : ndarray of int8 — counterbalancing class at the horizon under the scenario's
        ``ldn_baseline``: −1 a loss, 0 neutral, +1 a gain (what the LDN constraint sums)
    ldn_class : dict of str -> ndarray of int8 — the 7-class status (1–7) at the horizon under each
        baseline assumption, ``stable`` and ``persist`` (:mod:`dualuse.model.ldn`)
    sdg_status : ndarray of int8 — SDG 15.3.1 status at the horizon under the scenario's baseline:
        −1 degraded (classes 1–3), 0 stable, +1 improved
    soc_change_t : ndarray — change of the parcel's SOC stock over the horizon [t C]
    area_ha : ndarray — per parcel [ha]
    land_type : ndarray of int — per parcel, index into :data:`LAND_TYPES`
    community : ndarray — per parcel, index into ``demand_mwh`` or −1
    demand_mwh : ndarray — per community, yearly demand of the unserved households [MWh/yr]
    households : ndarray — per community, unserved households
    household_mwh : ndarray — per community, yearly demand of one household [MWh/yr]
    community_id : tuple of str — per community, its id (the names of per-community rows)
    baseline_productivity_t : float — today's harvest, every parcel under its current use [t DM/yr]
    max_energy_mwh : float — generation with every parcel under its most productive PV use [MWh/yr]
    max_cost_usd : float — the cost of the costliest plan: every parcel under its costliest eligible
        use and all demand delivered [USD]
    annual_cost_usd_yr : ndarray — per pair, the capital cost annualised over the use's life plus the
        yearly operating cost of the whole parcel under the use [USD/yr] (:func:`annual_cost`)
    harvest_value_usd_yr : ndarray — per pair, the yearly harvest at its value per land type [USD/yr]
    drought : DroughtCoefficients or None — harvest and energy per drought year (:mod:`dualuse.model.drought_years`)
    jobs_fte, construction_job_years, income_usd_yr : ndarray — per pair, the permanent work [FTE], the work of
        building its PV [job-years] and the land-based income [USD/yr] of the whole parcel under the use
        (:mod:`dualuse.model.livelihood_values`)
    minigrid_fte_household : float — local mini-grid operation work per household served [FTE/household]
    adjacency : Adjacency or None — the parcels' shared boundaries, when the scenario penalises the restored
        area's boundary (:mod:`dualuse.inputs.adjacency`)
    """

    n_parcels: int
    parcel: np.ndarray
    use: np.ndarray
    energy_mwh: np.ndarray
    capacity_mwp: np.ndarray
    productivity_t: np.ndarray
    cost_usd: np.ndarray
    ldn_status: np.ndarray
    ldn_class: dict[str, np.ndarray]
    sdg_status: np.ndarray
    soc_change_t: np.ndarray
    area_ha: np.ndarray
    land_type: np.ndarray
    community: np.ndarray
    demand_mwh: np.ndarray
    households: np.ndarray
    household_mwh: np.ndarray
    baseline_productivity_t: float
    max_energy_mwh: float
    max_cost_usd: float
    annual_cost_usd_yr: np.ndarray
    harvest_value_usd_yr: np.ndarray
    community_id: tuple[str, ...] = ()
    drought: DroughtCoefficients | None = None
    jobs_fte: np.ndarray = field(default_factory=lambda: np.zeros(0))
    construction_job_years: np.ndarray = field(default_factory=lambda: np.zeros(0))
    income_usd_yr: np.ndarray = field(default_factory=lambda: np.zeros(0))
    minigrid_fte_household: float = 0.0
    adjacency: Adjacency | None = None

    @property
    def n_pairs(self) -> int:
        return int(self.parcel.size)

    @property
    def pair_area_ha(self) -> np.ndarray:
        """Per pair, its parcel's area [ha] (made once: treat as read-only)."""
        return kept(self, "pair_area_ha", ("area_ha",), lambda: self.area_ha[self.parcel])

    @property
    def pair_land_type(self) -> np.ndarray:
        """Per pair, its parcel's land type (made once: treat as read-only)."""
        return kept(self, "pair_land_type", ("land_type",), lambda: self.land_type[self.parcel])

    @property
    def pair_community(self) -> np.ndarray:
        """Per pair, its parcel's community or −1 (made once: treat as read-only)."""
        return kept(self, "pair_community", ("community",), lambda: self.community[self.parcel])

    @property
    def is_land(self) -> np.ndarray:
        """Per parcel: does it count as land for LDN?  Water does not: SDG 15.3.1 leaves it out of the land area."""
        return self.land_type != LAND_TYPES.index("water")

    @property
    def land_types_present(self) -> np.ndarray:
        return np.unique(self.land_type)


def capital_recovery_factor(rate: float, years: np.ndarray | float) -> np.ndarray | float:
    r"""The share of a capital cost paid each year to repay it with interest over its life [1/yr].

    .. math:: \mathrm{CRF} = \frac{r (1 + r)^n}{(1 + r)^n - 1}, \qquad \mathrm{CRF} = 1/n \text{ at } r = 0

    with :math:`r` the discount rate [1/yr] and :math:`n` the life [years].
    """
    years = np.asarray(years, dtype=float)
    if rate == 0:
        out = 1.0 / years
    else:
        growth = (1.0 + rate) ** years
        out = rate * growth / (growth - 1.0)
    return float(out) if out.ndim == 0 else out


def annual_cost(catalogue: Catalogue, scenario: Scenario, use: np.ndarray, cost_usd: np.ndarray,
                capacity_mwp: np.ndarray, area_ha: np.ndarray) -> np.ndarray:
    r"""Per pair, the yearly cost of the use [USD/yr]: its capital cost annualised, and its operating costs.

    .. math:: a_j = \mathrm{CRF}(r, n_u) K_j + o^{MW}_u C_j + o^{ha}_u A_j

    with :math:`K_j` the capital cost (grid connection included), :math:`C_j` the PV capacity [MWp],
    :math:`A_j` the area [ha], :math:`n_u` the use's ``lifetime_years`` and :math:`o_u` its
    ``opex_usd_mwp_yr`` and ``opex_usd_ha_yr``.
    """
    crf = capital_recovery_factor(scenario.discount_rate, np.array([u.lifetime_years for u in catalogue.uses]))
    opex_mwp = np.array([u.opex_usd_mwp_yr for u in catalogue.uses])
    opex_ha = np.array([u.opex_usd_ha_yr for u in catalogue.uses])
    return crf[use] * cost_usd + opex_mwp[use] * capacity_mwp + opex_ha[use] * area_ha


def eligibility(region: Region, catalogue: Catalogue) -> np.ndarray:
    """Boolean [parcel, use]: may the use go on the parcel (land type, protection, slope)?

    The current use is always eligible; a protected parcel keeps its use or is restored.
    """
    masks = []
    for use in catalogue.uses:
        ok = use.allowed[region.land_type] & (region.slope_deg <= use.max_slope_deg)
        if not use.allowed_in_protected:
            ok &= ~region.protected
        masks.append(ok)
    eligible = np.column_stack(masks)
    eligible[:, USES.index("current")] = True
    return eligible


def community_demand(region: Region, scenario: Scenario) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per community: demand [MWh/yr], unserved households, and demand per household [MWh/yr].

    A household's demand is the community's ``household_kwh_yr`` where given, else that of the
    community's Multi-Tier Framework tier (``mtf_tier``), else that of the scenario's tier.
    """
    communities = region.communities
    households = communities["unserved_households"].to_numpy(dtype=float)
    kwh = communities["household_kwh_yr"].to_numpy(dtype=float)
    tier = (communities["mtf_tier"].to_numpy(dtype=float) if "mtf_tier" in communities.columns
            else np.full(households.size, np.nan))
    tier = np.where(np.isnan(tier), scenario.mtf_tier, tier).astype(np.int64)
    tier_kwh = np.array([MTF_TIER_KWH_YR.get(t, np.nan) for t in range(max(MTF_TIER_KWH_YR) + 1)])[tier]
    household_mwh = np.where(np.isnan(kwh), tier_kwh, kwh) / KWH_PER_MWH
    return households * household_mwh, households, household_mwh


def compute_coefficients(region: Region, catalogue: Catalogue, scenario: Scenario) -> Coefficients:
    """Every coefficient of the model, for the eligible (parcel, use) pairs only."""
    eligible = eligibility(region, catalogue)
    parcel, use = np.nonzero(eligible)  # row-major: pairs grouped by parcel, uses in USES order
    area_ha = region.area_ha
    lt = region.land_type
    pair_lt = lt[parcel]

    density_mwp_ha = np.array([u.density_mwp_ha for u in catalogue.uses])
    capex_usd_ha = np.array([u.capex_usd_ha for u in catalogue.uses])
    capex_usd_mwp = np.array([u.capex_usd_mwp for u in catalogue.uses])
    retention = np.stack([u.retention for u in catalogue.uses])          # [use, land type]
    soc_rate = np.stack([u.soc_rate_t_ha_yr for u in catalogue.uses])    # [use, land type]

    pair_area_ha = area_ha[parcel]
    capacity_mwp = pair_area_ha * density_mwp_ha[use]
    # 1 MWp x 1 kWh/kWp = 1 MWh
    energy_mwh = capacity_mwp * region.pv_yield_kwh_kwp[parcel]
    productivity_t = pair_area_ha * region.productivity_t_ha[parcel] * retention[use, pair_lt]
    cost_usd = (pair_area_ha * capex_usd_ha[use] + capacity_mwp * capex_usd_mwp[use]
                + capacity_mwp * scenario.grid_cost_usd_mw_km * region.grid_km[parcel])
    classes = {mode: status[eligible] for mode, status in ldn_classes(region, catalogue, scenario).items()}
    held = classes[scenario.ldn_baseline]
    soc_change_t = pair_area_ha * soc_rate[use, pair_lt] * scenario.horizon_years
    demand_mwh, households, household_mwh = community_demand(region, scenario)

    starts = starts_of(parcel, region.n_parcels)  # every parcel has a pair: its current use
    max_energy = np.maximum(0.0, np.maximum.reduceat(energy_mwh, starts))
    max_cost = np.maximum(0.0, np.maximum.reduceat(cost_usd, starts))
    harvest_value_usd_yr = productivity_t * catalogue.harvest_value_usd_t[pair_lt]
    livelihood = livelihood_values(catalogue, use, pair_lt, pair_area_ha, capacity_mwp, energy_mwh,
                                   harvest_value_usd_yr, soc_change_t, scenario.price_export_usd_mwh,
                                   scenario.horizon_years)
    coef = Coefficients(
        n_parcels=region.n_parcels, parcel=parcel.astype(np.int64), use=use.astype(np.int64),
        energy_mwh=energy_mwh, capacity_mwp=capacity_mwp, productivity_t=productivity_t, cost_usd=cost_usd,
        ldn_status=balance_class(held), ldn_class=classes, sdg_status=sdg_status(held), soc_change_t=soc_change_t, area_ha=area_ha, land_type=lt,
        community=region.community, demand_mwh=demand_mwh, households=households, household_mwh=household_mwh,
        baseline_productivity_t=float(np.sum(area_ha * region.productivity_t_ha)),
        max_energy_mwh=float(max_energy.sum()),
        max_cost_usd=(float(max_cost.sum()) + scenario.delivery_cost_usd_mwh * float(demand_mwh.sum())
                      + scenario.connection_cost_usd * float(households[demand_mwh > 0].sum())),
        annual_cost_usd_yr=annual_cost(catalogue, scenario, use, cost_usd, capacity_mwp, pair_area_ha),
        harvest_value_usd_yr=harvest_value_usd_yr,
        community_id=tuple(region.communities["community_id"].astype(str).tolist()),
        drought=drought_coefficients(region.drought, catalogue, parcel, use, area_ha, lt, capacity_mwp),
        jobs_fte=livelihood.jobs_fte, construction_job_years=livelihood.construction_job_years,
        income_usd_yr=livelihood.income_usd_yr, minigrid_fte_household=catalogue.minigrid_fte_household,
        adjacency=region_adjacency(region) if scenario.restoration_boundary_weight > 0 else None,
    )
    kept(coef, "pair_area_ha", ("area_ha",), lambda: pair_area_ha)  # made above: the model, checks and plan use it
    return coef


def land_type_name(code: int) -> str:
    return LAND_TYPES[int(code)]
