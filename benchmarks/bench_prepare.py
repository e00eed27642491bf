"""Benchmark ``dualuse prepare``: seconds per stage and peak memory.

Builds synthetic inputs like the real ones (an irregular area of interest,
rasters in longitude/latitude at about 1 km, protected polygons, grid lines,
settlements), then runs ``prepare`` in a fresh process so that the peak
memory reported is prepare's own.

    python benchmarks/bench_prepare.py                  # 100,000 parcels of 100 ha, 30" rasters
    python benchmarks/bench_prepare.py --parcels 20000 --res-arcsec 3
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import rasterio
import shapely
from rasterio.transform import from_origin

LON0, LAT0 = 36.0, -3.0  # centre of the synthetic region (East African drylands)


def make_inputs(folder: Path, parcels: int, cell_ha: float, res_arcsec: float, seed: int = 7) -> dict[str, str]:
    """Write the synthetic inputs into ``folder`` and return the prepare options that use them."""
    rng = np.random.default_rng(seed)
    local = pyproj.CRS.from_proj4(f"+proj=laea +lat_0={LAT0} +lon_0={LON0} +datum=WGS84 +units=m")
    radius_m = math.sqrt(parcels * cell_ha * 1e4 / math.pi)
    angle = np.linspace(0, 2 * math.pi, 4000, endpoint=False)
    wobble = 1 + 0.06 * np.sin(7 * angle) + 0.03 * np.sin(23 * angle + 1.0) + 0.01 * np.sin(97 * angle)
    aoi_local = shapely.Polygon(np.column_stack([radius_m * wobble * np.cos(angle),
                                                 radius_m * wobble * np.sin(angle)]))
    aoi = gpd.GeoSeries([aoi_local], crs=local)
    aoi.to_crs(4326).to_frame("geometry").to_file(folder / "aoi.gpkg", engine="pyogrio")

    minx, miny, maxx, maxy = aoi.to_crs(4326).total_bounds
    res = res_arcsec / 3600.0
    left, top = math.floor(minx) - 0.5, math.ceil(maxy) + 0.5
    width = int(math.ceil((maxx - left + 0.5) / res))
    height = int(math.ceil((top - miny + 0.5) / res))
    transform = from_origin(left, top, res, res)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    smooth = (np.sin(xx / (width / 5.3)) + np.cos(yy / (height / 4.1))).astype(np.float32)

    def raster(name: str, data: np.ndarray, nodata: float | None = None) -> str:
        path = folder / name
        with rasterio.open(path, "w", driver="GTiff", width=width, height=height, count=1, dtype=data.dtype,
                           crs="EPSG:4326", transform=transform, nodata=nodata, tiled=True, blockxsize=256,
                           blockysize=256, compress="deflate") as dst:
            dst.write(data, 1)
        return str(path)

    pvout = (1700 + 150 * smooth + rng.normal(0, 20, smooth.shape)).astype(np.float32)
    productivity = np.clip(2.5 + 1.5 * smooth + rng.normal(0, 0.3, smooth.shape), 0, None).astype(np.float32)
    soc = (35 + 10 * smooth + rng.normal(0, 3, smooth.shape)).astype(np.int16)
    soc[rng.random(soc.shape) < 0.01] = -32768
    classes = np.array([10, 30, 60, 110, 120, 130, 150, 180, 190, 200, 210], dtype=np.uint8)
    land_cover = classes[((smooth + 2) / 4 * (classes.size - 1) + rng.integers(-1, 2, smooth.shape))
                         .clip(0, classes.size - 1).astype(int)]
    degradation = rng.choice(np.array([-1, 0, 1], dtype=np.int16), size=smooth.shape, p=[0.2, 0.65, 0.15])
    dem = (900 + 400 * smooth + 30 * np.sin(xx / 3.0) * np.cos(yy / 4.0)).astype(np.float32)

    def vector(name: str, geoms: list[shapely.Geometry] | np.ndarray, **columns: object) -> str:
        frame = gpd.GeoDataFrame(columns, geometry=list(geoms), crs=local).to_crs(4326)
        frame.to_file(folder / name, engine="pyogrio")
        return str(folder / name)

    centres = rng.uniform(-radius_m, radius_m, size=(300, 2))
    protected = shapely.buffer(shapely.points(centres), rng.uniform(2_000, 15_000, 300), quad_segs=16)
    starts = rng.uniform(-1.3 * radius_m, 1.3 * radius_m, size=(60, 2))
    ends = starts + rng.normal(0, radius_m / 2, size=(60, 2))
    lines = shapely.linestrings(np.stack([starts, (starts + ends) / 2 + rng.normal(0, 5_000, (60, 2)), ends],
                                         axis=1))
    towns = rng.uniform(-1.1 * radius_m, 1.1 * radius_m, size=(6_000, 2))
    return {
        "aoi": str(folder / "aoi.gpkg"),
        "pvout": raster("pvout.tif", pvout),
        "productivity": raster("productivity.tif", productivity),
        "soc": raster("soc.tif", soc, nodata=-32768),
        "land_cover": raster("land_cover.tif", land_cover),
        "degradation": raster("degradation.tif", degradation, nodata=-32768),
        "dem": raster("dem.tif", dem),
        "protected": vector("protected.gpkg", protected, STATUS=["Designated"] * 300),
        "grid_lines": vector("grid.gpkg", lines),
        "settlements": vector("settlements.gpkg", shapely.points(towns),
                              pop=rng.integers(50, 20_000, towns.shape[0]),
                              elec=rng.uniform(0, 1, towns.shape[0])),
    }


def peak_memory_mb() -> float:
    """This process's peak resident memory [MB].

    Linux's VmHWM belongs to the process image, whereas ``ru_maxrss`` survives
    ``exec`` and would report the parent's peak (the input writer's).
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(spec: dict[str, object]) -> dict[str, object]:
    """Run prepare once (in this process) and return its figures."""
    from dualuse.prepare.assemble import PrepareOptions, prepare

    options = PrepareOptions(cell_ha=float(spec["cell_ha"]), population_field="pop", electrified_field="elec",
                             household_size=5.0, reach_km=15.0, allow_missing=True,
                             **{k: v for k, v in spec.items() if k not in ("cell_ha", "output", "made_for")})
    start = time.perf_counter()
    prepared = prepare(options, str(spec["output"]))
    total_s = time.perf_counter() - start
    peak_mb = peak_memory_mb()
    return {"parcels": len(prepared.parcels), "total_s": total_s, "peak_rss_mb": peak_mb,
            "stages_s": prepared.timings_s,
            "communities": 0 if prepared.communities is None else len(prepared.communities)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parcels", type=int, default=100_000, help="about how many parcels")
    parser.add_argument("--cell-ha", type=float, default=100.0, help="parcel size [ha]")
    parser.add_argument("--res-arcsec", type=float, default=30.0, help="raster resolution [arc seconds]")
    parser.add_argument("--keep", type=Path, default=None, help="write the inputs and output here and keep them")
    parser.add_argument("--run", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run is not None:  # child process: run prepare only
        print(json.dumps(run(json.loads(args.run.read_text()))))
        return

    with tempfile.TemporaryDirectory(prefix="bench-prepare-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        spec_path = folder / "spec.json"
        wanted = {"parcels": args.parcels, "cell_ha": args.cell_ha, "res_arcsec": args.res_arcsec}
        spec: dict[str, object] = json.loads(spec_path.read_text()) if spec_path.exists() else {}
        if spec.get("made_for") != wanted:  # (re)write the inputs unless --keep holds them already
            spec = dict(make_inputs(folder, args.parcels, args.cell_ha, args.res_arcsec))
            spec["made_for"] = wanted
        spec["cell_ha"] = args.cell_ha
        spec["output"] = str(folder / "region.gpkg")
        with rasterio.open(str(spec["pvout"])) as src:
            size = f"{src.width} × {src.height}"
        print(f"inputs: {time.perf_counter() - start:.1f} s to write or find; rasters {size} pixels at "
              f"{args.res_arcsec:g}\" in EPSG:4326")
        spec_path.write_text(json.dumps(spec))
        child = subprocess.run([sys.executable, __file__, "--run", str(spec_path)], capture_output=True, text=True)
        if child.returncode != 0:
            sys.stderr.write(child.stderr)
            raise SystemExit(child.returncode)
        figures = json.loads(child.stdout.strip().splitlines()[-1])
    print(f"parcels: {figures['parcels']:,} of {args.cell_ha:g} ha; communities: {figures['communities']:,}")
    for stage, seconds in figures["stages_s"].items():
        print(f"  {stage:20} {seconds:8.2f} s")
    print(f"total: {figures['total_s']:.1f} s; peak memory (RSS): {figures['peak_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
