"""How one process takes part in a search: alone, as a chief serving workers, or as a worker.
`search.run` turns its flags into this once; the roles read nothing else of the command line."""
from dataclasses import dataclass, field

from fer.constants import TUNER_RUNS_DIR
from search.distributed.chief import CONNECT_TIMEOUT


@dataclass(frozen=True)
class DistributedConfig:
    workers: int = 0                  # local worker processes the chief starts
    role: str | None = None           # "chief" or "worker" of a search across machines; None: neither
    listen: str | None = None         # chief: HOST:PORT where workers reach the oracle
    chief: str | None = None          # worker: the chief's HOST:PORT
    tuner_id: str | None = None       # worker: a stable id (a restart re-runs its interrupted trial)
    connect_timeout: float = CONNECT_TIMEOUT  # worker: seconds to wait for the chief
    trusted_network: bool = False     # chief: listen beyond loopback without a token (distributed/auth.py)
    threads: int | None = None        # CPU threads per worker (None: an equal share)
    recycle_after: int | None = None  # workers restarted every K trials
    project: str = ""                 # the project's name: what a worker looks for under runs_dir
    runs_dir: str = str(TUNER_RUNS_DIR)
    given: frozenset = field(default_factory=frozenset)  # the flags on the command line (--resume keeps the rest)
