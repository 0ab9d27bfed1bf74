"""Experiment throughput: replications per second of the default scenario with 1 and 2
workers, and the scaling ratio. Prints one JSON object.

A replication is one run of every compared strategy. Each measurement runs a fresh
experiment into a temporary folder: worker start-up, storing every run and combining the
tables included; the HTML report (about 2 s, serial, the same for any number of workers)
is timed once separately.

Usage: python benchmarks/bench_experiment.py [--replications 20] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "gsp_vs_segmented.yaml"


def replications_per_second(workers: int, replications: int, repeat: int) -> dict:
    import sim
    from sim.experiment import monte_carlo

    scenario = sim.load_scenario(SCENARIO)
    times = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            monte_carlo(scenario, replications=replications, out=Path(tmp) / "out",
                        workers=workers)
            times.append(time.perf_counter() - start)
    median = statistics.median(times)
    return {"workers": workers, "replications": replications,
            "seconds_median": round(median, 3), "seconds_all": [round(t, 3) for t in times],
            "replications_per_second": replications / median}


def report_seconds() -> float:
    """Time to write the charts and report of a 4-replication experiment."""
    import sim
    from sim.experiment import monte_carlo
    from sim.report import write_report

    with tempfile.TemporaryDirectory() as tmp:
        out = monte_carlo(sim.load_scenario(SCENARIO), replications=4, out=Path(tmp) / "out",
                          workers=1).path
        start = time.perf_counter()
        write_report(out)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    one = replications_per_second(1, args.replications, args.repeat)
    two = replications_per_second(2, args.replications, args.repeat)
    print(json.dumps({
        "scenario": str(SCENARIO.relative_to(ROOT)), "cores": os.cpu_count(),
        "one_worker": one, "two_workers": two,
        "scaling_ratio": two["replications_per_second"] / one["replications_per_second"],
        "target_scaling_ratio": 1.8,
        "report_seconds": round(report_seconds(), 3),
    }, indent=2))


if __name__ == "__main__":
    main()
