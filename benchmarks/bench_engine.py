"""Engine throughput and memory. Prints one JSON object.

- the practical limit on this machine, measured in the same process: a bare NumPy
  lifecycle (4 stages, 2 uniforms and about 5 array operations per customer-month) at
  100,000 customers × 120 months;
- the whole ``sim.run`` of the headline scenario at 100,000 people × 120 months (set-up,
  the warm-up, the months and the result tables), in customer-months simulated (warm-up
  included) per second, and its ratio to the reference (target ≥ 0.20);
- vectorized customer-months per second of the measured months alone (median of
  ``--repeat`` runs, one core);
- the same for the agents engine at 2,000 customers × 24 months, and the ratio;
- peak memory (resident set) of one 1,000,000-customer × 120-month vectorized run, measured
  in a fresh subprocess, and how many Python objects the model holds per customer.

Usage: python benchmarks/bench_engine.py [--repeat 3] [--skip-memory]
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "gsp_vs_segmented.yaml"
STRATEGY = "segmented"  # the strategy with the most work per month (tiers, priorities)


def _scenario(population: int):
    import sim

    return sim.load_scenario(SCENARIO).override({
        "market.population": population,
        "market.initial_customers": int(population * 0.7),
    })


def throughput(population: int, months: int, engine: str, repeat: int) -> dict:
    """Median customer-months per second of ``repeat`` runs (model setup, which includes
    the warm-up, excluded)."""
    from sim.model import CVMModel

    scenario = _scenario(population)
    times = []
    for r in range(repeat):
        model = CVMModel(scenario, STRATEGY, seed=r, engine=engine)
        start = time.perf_counter()
        for _ in range(months):
            model.step()
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    return {"customers": population, "months": months, "engine": engine,
            "seconds_median": round(median, 4), "seconds_all": [round(t, 4) for t in times],
            "customer_months_per_second": population * months / median}


def reference(population: int, months: int, repeat: int) -> dict:
    """Median customer-months per second of a bare NumPy lifecycle: prospect → customer →
    loyal → gone, with two single-precision uniforms and a handful of array operations per
    customer-month. What hand-written NumPy reaches here; the model's ratio to it is the
    figure that travels between machines."""
    import numpy as np

    join, settle, leave = np.float32(0.02), np.float32(0.05), np.float32(0.01)
    times = []
    for r in range(repeat):
        rng = np.random.Generator(np.random.SFC64(r))
        stage = np.zeros(population, dtype=np.int8)
        start = time.perf_counter()
        for _ in range(months):
            u, v = rng.random(population, np.float32), rng.random(population, np.float32)
            rate = np.where(stage == 0, join, np.where(stage == 3, np.float32(0), settle))
            step = (u < rate).astype(np.int8)
            gone = (stage > 0) & (stage < 3) & (v < leave)
            stage = np.where(stage == 3, stage, np.minimum(stage + step, 2)).astype(np.int8)
            stage[gone] = 3
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    return {"customers": population, "months": months, "seconds_median": round(median, 4),
            "customer_months_per_second": population * months / median}


def whole_run(population: int, months: int, repeat: int) -> dict:
    """Median customer-months per second of the whole ``sim.run`` (set-up, warm-up, months
    and result tables), counting the warm-up's customer-months as simulated."""
    import sim

    scenario = _scenario(population).override({"simulation.horizon_months": months})
    simulated = population * (months + scenario.simulation.warmup_months)
    times = []
    for r in range(repeat):
        start = time.perf_counter()
        sim.run(scenario, strategy=STRATEGY, seed=r)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    return {"customers": population, "months": months,
            "warmup_months": scenario.simulation.warmup_months,
            "seconds_median": round(median, 4), "seconds_all": [round(t, 4) for t in times],
            "customer_months_per_second": simulated / median}


def memory_child(population: int, months: int) -> None:
    """Run one big vectorized run and print its peak RSS and objects per customer."""
    import sim
    from sim.model import CVMModel

    scenario = _scenario(population)
    gc.collect()
    before = len(gc.get_objects())
    model = CVMModel(scenario, STRATEGY, seed=0)
    gc.collect()
    objects = len(gc.get_objects()) - before
    for _ in range(months):
        model.step()
    del model
    result = sim.run(scenario, strategy=STRATEGY, seed=1, months=months)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"customers": population, "months": months,
                      "peak_rss_mb": round(peak_kib / 1024, 1),
                      "python_objects_created_by_model": objects,
                      "objects_per_customer": objects / population,
                      "customers_table_rows": len(result.customers)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--memory-child", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(*args.memory_child)
        return
    bare = reference(100_000, 120, args.repeat)
    whole = whole_run(100_000, 120, args.repeat)
    vec = throughput(100_000, 120, "vectorized", args.repeat)
    agents = throughput(2_000, 24, "agents", args.repeat)
    out = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "numpy_reference": bare,
        "whole_run": whole,
        "ratio_whole_run_to_reference": (whole["customer_months_per_second"]
                                         / bare["customer_months_per_second"]),
        "vectorized": vec,
        "agents": agents,
        "speed_ratio_vectorized_over_agents": (vec["customer_months_per_second"]
                                               / agents["customer_months_per_second"]),
        "targets": {"ratio_whole_run_to_reference": 0.20, "speed_ratio": 100,
                    "peak_rss_mb_1m_customers": 1536},
    }
    if not args.skip_memory:
        child = subprocess.run(
            [sys.executable, __file__, "--memory-child", "1000000", "120"],
            capture_output=True, text=True, check=True)
        out["memory"] = json.loads(child.stdout.strip().splitlines()[-1])
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
