"""A local, offline, extractive question-answering assistant for Chinese documents."""

__version__ = "0.1.0"

import os as _os

# With two cores and a busy neighbour (a build, the server's other requests), torch's spinning OpenMP
# threads wait on each other: one query took 100-950 ms instead of ~20 ms (BENCHMARKS.md). Passive
# waiting must be set before torch is first imported, which every entry point does through here.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
