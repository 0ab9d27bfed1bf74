"""Run a scenario's strategy comparison: ``python run_scenario.py SCENARIO.yaml [options]``.

The same as ``cvm run``; see ``python run_scenario.py --help``.
"""

import shlex
import sys

from sim.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", *sys.argv[1:]], command=shlex.join(["python", *sys.argv])))
