"""Upper bounds of scenario values that the machine and the engine's integer codes must
honour; the schema and the cross-checks read them, and the command line checks its
options against them."""

MAX_POPULATION = 10_000_000
"""Most agents simulated: about 250 bytes of memory per agent, so 2.5 GB."""
MAX_CUSTOMERS_PER_AGENT = 1_000_000
"""Most of the client's people one agent may stand for."""
MAX_PEOPLE = MAX_POPULATION * 1000
"""Largest market in the client's units (ten billion people: more than there are)."""
MAX_MONEY = 1e12
"""Largest amount of money in a scenario (currency, per month or once): sums over ten
million customers and a hundred years of months stay below 10^23, far from overflow."""
MAX_SEED = 2**64 - 1
"""Largest seed: NumPy's seed sequences and the stored results take 64-bit seeds."""
MAX_REPLICATIONS = 10_000
MAX_SWEEP_POINTS = 100_000
"""Most points of a sweep's design (each run for every replication and strategy)."""
MAX_CODES = {"segments": 100, "propositions": 100, "channels": 60, "offers": 100}
"""Most segments, propositions, channels and cross-sell offers: they are coded in 8-bit
integers per customer (a contact's code is 2 × channel + 2, so channels stop at 62)."""
MAX_NAME_LENGTH = 64
"""Longest name of a segment, proposition, channel, attribute or strategy: names become
column names, chart labels and file names."""
MAX_FILE_BYTES = 10_000_000
"""Largest scenario file read (a scenario is a few kilobytes)."""
MAX_EXTENDS = 50
"""Longest chain of files extending one another."""
