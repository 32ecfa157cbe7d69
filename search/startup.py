"""How `search.run`, its workers and `search.report` start, once their arguments are parsed."""
from fer.command import start_backend


def start_search_process(verbose: bool = False) -> None:
    """The backend imported quietly, then TensorFlow's CPU allocator set up for flat memory across
    trials (search/tf_memory.py) before TensorFlow allocates anything, then Keras's and keras-tuner's
    file writers made safe on a full disk (search/safe_writes.py)."""
    from search import tf_memory
    start_backend(verbose)
    tf_memory.prefer_system_allocator()
    from search import safe_writes  # imports keras-tuner: after the quiet start
    safe_writes.install()
