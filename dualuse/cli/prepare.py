"""``dualuse prepare``: a region GeoPackage from rasters and vectors."""

from __future__ import annotations

from typing import Any

import click

from dualuse.cli.options import emit_json, want_json
from dualuse.errors import require_extra

_PREPARE_EPILOG = """\b
Units and scales:
  --pvout          Global Solar Atlas PVOUT: 'yearly' totals [kWh/kWp/yr]
                   (LTAy_YearlyMonthlyTotals) or 'daily' totals [kWh/kWp/day]
                   (LTAy_AvgDailyTotals, multiplied by 365).
  --soc            stored value x --soc-scale = t C/ha. SoilGrids 'ocs'
                   (0-30 cm) and Trends.Earth SOC are t/ha already: scale 1.
                   SoilGrids 'soc' is a concentration [dg/kg], not a stock:
                   scale = 0.01 x bulk density [g/cm3] x depth [cm] x
                   (1 - coarse fragments), e.g. 0.39 for 1.3 g/cm3 over 30 cm.
  --productivity   stored value x --productivity-scale = t DM/ha/yr; MODIS
                   NPP (MOD17A3, 0.0001 kg C/m2/yr) with 47 % carbon in dry
                   matter: scale 0.0001 x 10 / 0.47 = 0.002128.
  A scale and offset stored in a raster's metadata are applied first.
\b
Examples:
  dualuse prepare aoi.gpkg -o region.gpkg --cell-ha 100 --pvout PVOUT.tif \\
      --productivity npp.tif --productivity-scale 0.002128 --soc ocs_0-30cm.tif \\
      --land-cover C3S-LC-2020.tif --degradation sdg_15_3_1.tif --dem srtm.tif \\
      --protected WDPA.gpkg --protected-where "STATUS <> 'Proposed'" \\
      --grid-lines grid.gpkg --settlements villages.gpkg --population-field pop \\
      --electrified-field elec_share --household-size 5 --reach-km 10
"""


def _drought_years(items: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    require_extra("prepare", "dualuse prepare")
    from dualuse.prepare.drought_rasters import parse_scenarios

    return parse_scenarios(items)


@click.command(epilog=_PREPARE_EPILOG)
@click.argument("aoi", type=click.Path(dir_okay=False, path_type=str))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="region GeoPackage to write (layers parcels, communities, prepare_sources)")
@click.option("--aoi-layer", default=None, help="layer of AOI to use when it has several")
@click.option("--cell-ha", type=float, required=True, help="parcel size [ha]")
@click.option("--shape", type=click.Choice(["hex", "square"]), default="hex", help="parcel shape")
@click.option("--crs", default=None,
              help="projected CRS in metres to tile in, e.g. EPSG:32636  [default: Lambert azimuthal "
                   "equal-area centred on the AOI]")
@click.option("--sliver-share", type=float, default=0.25,
              help="clipped cells smaller than this share of --cell-ha join the neighbour they share most "
                   "border with")
@click.option("--pvout", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="PV specific yield raster (Global Solar Atlas PVOUT) [kWh/kWp]")
@click.option("--pvout-unit", type=click.Choice(["yearly", "daily"]), default="yearly",
              help="PVOUT totals per year [kWh/kWp/yr] or per day [kWh/kWp/day]")
@click.option("--productivity", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="productivity raster: crop or forage yield or an NPP proxy")
@click.option("--productivity-scale", type=float, default=1.0,
              help="stored value x this = productivity [t DM/ha/yr]")
@click.option("--soc", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="soil organic carbon stock raster, 0-30 cm (SoilGrids ocs) [t C/ha]")
@click.option("--soc-scale", type=float, default=1.0,
              help="stored value x this = SOC stock [t C/ha]; 1 for SoilGrids ocs (see below)")
@click.option("--land-cover", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="land cover class raster (ESA CCI / C3S LCCS classes, or any with a legend table)")
@click.option("--land-cover-legend", default="esa-cci",
              help="'esa-cci' (built in) or a CSV with columns value,land_type (empty land_type = no data)")
@click.option("--degradation", default=None, type=click.Path(dir_okay=False, path_type=str),
              help="SDG 15.3.1 status raster (Trends.Earth): -1 degraded, 0 stable, 1 improving")
@click.option("--dem", default=None, type=click.Path(dir_okay=False, path_type=str),
              help="elevation raster [m]; slope is computed from it on a projected grid")
@click.option("--slope", default=None, type=click.Path(dir_okay=False, path_type=str),
              help="slope raster [degrees], instead of --dem")
@click.option("--protected", default=None, type=click.Path(dir_okay=False, path_type=str),
              help="protected-area polygons (WDPA); a parcel more than half inside is protected")
@click.option("--protected-layer", default=None, help="layer of --protected")
@click.option("--protected-where", default=None,
              help="OGR SQL filter on --protected, e.g. \"STATUS <> 'Proposed'\"")
@click.option("--grid-lines", default=None, type=click.Path(dir_okay=False, path_type=str),
              help="power lines; grid_km is the distance from each parcel's centroid [km]")
@click.option("--grid-lines-layer", default=None, help="layer of --grid-lines")
@click.option("--settlements", default=None, type=click.Path(dir_okay=False, path_type=str),
              help="settlement points with population; they become the communities")
@click.option("--settlements-layer", default=None, help="layer of --settlements")
@click.option("--population-field", default=None, help="field of --settlements: population [people]")
@click.option("--electrified-field", default=None,
              help="field of --settlements: share of people with electricity [0-1]")
@click.option("--settlement-id-field", default=None,
              help="field of --settlements used as community_id  [default: S<feature id>]")
@click.option("--household-size", type=float, default=None, help="people per household")
@click.option("--reach-km", type=float, default=None,
              help="a parcel supplies the nearest settlement within this distance [km]")
@click.option("--productivity-scenario", "productivity_scenarios", multiple=True, metavar="NAME=FILE.tif",
              callback=lambda ctx, param, value: _drought_years(value),
              help="productivity raster of a drought year (e.g. NPP of a historical drought), in the unit of "
                   "--productivity; repeat for each year; writes the table productivity_scenarios")
@click.option("--allow-missing", is_flag=True,
              help="leave out parcels without PV, productivity, SOC or land cover data (and give parcels "
                   "without degradation or slope data 0) instead of failing")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object to stdout")
def prepare(aoi: str, output: str, as_json: bool, **options: Any) -> None:
    """Build a region GeoPackage from rasters and vectors: tile AOI into parcels and fill every column."""
    want_json(as_json)
    require_extra("prepare", "dualuse prepare")
    from dualuse.prepare.assemble import PrepareOptions
    from dualuse.prepare.assemble import prepare as run_prepare

    prepared = run_prepare(PrepareOptions(aoi=aoi, **options), output,
                           log=lambda text: click.echo(text, err=True))
    for note in prepared.notes:
        click.echo(f"note: {note}", err=True)
    parcels = prepared.parcels
    counts = parcels["land_type"].value_counts()
    summary = {
        "output": output,
        "parcels": len(parcels),
        "crs": prepared.crs.name,
        "communities": 0 if prepared.communities is None else len(prepared.communities),
        "land_types": {str(k): int(v) for k, v in counts.items()},
        "timings_s": prepared.timings_s,
        "notes": prepared.notes,
    }
    if as_json:
        emit_json(summary)
        return
    click.echo(f"region written to {output}: {len(parcels):,} parcels in {prepared.crs.name}"
               + (f", {summary['communities']:,} communities" if prepared.communities is not None else ""))
    click.echo("  " + ", ".join(f"{k} {v:,}" for k, v in summary["land_types"].items()))
