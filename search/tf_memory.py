"""Keep resident memory flat across trials: give back what a finished trial leaves behind.

Three things hold on to a trial's memory on the TensorFlow backend after its model is garbage
(how much each held: bench/results/NOTES.md, bench_memory.py):

- oneDNN's allocator. With oneDNN on (TensorFlow's default on x86), large tensors come from a
  BFC pool that grows to the largest trial seen and never shrinks; it exists for speed inside one
  model, and a search builds a different model every trial. `TF_ONEDNN_USE_SYSTEM_ALLOCATOR=1`
  hands those tensors to malloc, which frees them. It must be set before TensorFlow's first
  allocation, so the commands call `prefer_system_allocator()` when they start (search/startup.py);
  an explicit setting in the environment wins (bench/bench_memory.py allocator measures the choice).
  Plain glibc would then hand memory back to the kernel and fault it in again every step: each
  tensor over 32 MB (one 64x48x48x64 activation is 37.7 MB) gets a fresh mmap, and the heaps of
  the per-thread arenas TensorFlow's threads allocate from are unmapped whole whenever they empty,
  whatever the trim threshold. So all threads share the main arena (`M_ARENA_MAX` 1), large
  blocks come from its heap too (`M_MMAP_MAX` 0), and that heap is not trimmed during a trial
  (`M_TRIM_THRESHOLD`): blocks are reused step after step, as in the pool, and `release` trims
  the heap once the trial is over.
- TensorFlow's process-wide gradient registry. Keras's optimizer sums gradients through the
  default distribution strategy's `all_reduce`, which wraps them in `tf.custom_gradient`. Inside
  a traced train step that registers a uniquely named gradient function ("CustomGradient-N") and
  never removes it. Its closure holds the traced graph, whose captures hold the model's and the
  optimizer's variables. A registration is used only while that train step is traced, so
  forgetting those a trial made, once it is over, is safe.
- glibc's heap, which keeps freed memory for reuse unless trimmed.

`mark()` before a trial and `release(mark)` after it handle the last two. Other backends keep
none of these: there the registry part is a no-op.
"""
import ctypes
import gc
import os

SYSTEM_ALLOCATOR_ENV = "TF_ONEDNN_USE_SYSTEM_ALLOCATOR"
CUSTOM_GRADIENT_PREFIX = "CustomGradient-"  # tf.custom_gradient's names in graph mode
M_TRIM_THRESHOLD, M_MMAP_MAX, M_ARENA_MAX = -1, -4, -8  # glibc's mallopt parameters (malloc.h)
TRIM_THRESHOLD = 2**31 - 1  # (mallopt takes a C int) no trimming during a trial; `release` trims after it


def on_tensorflow() -> bool:
    """Whether Keras runs on TensorFlow: the other backends keep none of the above and are left alone.

    Importing Keras picks the backend but starts no TensorFlow allocation.
    """
    import keras
    return keras.backend.backend() == "tensorflow"


def prefer_system_allocator() -> None:
    """Let TensorFlow's oneDNN allocator return large tensors to the system (see above)."""
    if not on_tensorflow():
        return
    os.environ.setdefault(SYSTEM_ALLOCATOR_ENV, "1")
    if allocator() == "system":
        keep_large_blocks_in_heap()


HEAP_SETTINGS = ((M_ARENA_MAX, 1), (M_MMAP_MAX, 0), (M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def glibc():
    """The C library where it is glibc (mallopt, malloc_trim), else None."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


def keep_large_blocks_in_heap() -> bool:
    """Serve all blocks from glibc's main heap, untrimmed until `release`; False where not glibc."""
    libc = glibc()
    return libc is not None and all([bool(libc.mallopt(param, value)) for param, value in HEAP_SETTINGS])


def allocator() -> str | None:
    """What this process uses for large tensors on TensorFlow's CPU, for the run's record; None off TensorFlow."""
    if not on_tensorflow():
        return None
    return "system" if os.environ.get(SYSTEM_ALLOCATOR_ENV, "0").lower() in ("1", "true") else "onednn-bfc"


def rss_mb() -> float | None:
    """This process's resident memory in MB (Linux), or None where /proc is not there."""
    try:
        with open("/proc/self/statm") as f:
            return round(int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)
    except (OSError, ValueError):
        return None


def _tf_gradient_registry() -> dict | None:
    """TensorFlow's registry of gradient functions by name; None on other backends or if it moved."""
    if not on_tensorflow():
        return None
    try:
        from tensorflow.python.framework import ops  # private: no public API removes a gradient
        registry = ops._gradient_registry._registry
    except (ImportError, AttributeError):
        return None
    return registry if isinstance(registry, dict) else None


def custom_gradients(registry: dict | None = None) -> frozenset[str]:
    """Names of the tf.custom_gradient functions registered so far in this process."""
    registry = _tf_gradient_registry() if registry is None else registry
    return frozenset(k for k in registry or () if k.startswith(CUSTOM_GRADIENT_PREFIX))


def mark() -> frozenset[str]:
    """What is registered now; pass it to `release` after the trial."""
    return custom_gradients()


def release(since: frozenset[str]) -> int:
    """Forget the custom gradients registered after `since`, collect garbage and trim the heap.

    Returns how many registrations were forgotten.
    """
    registry = _tf_gradient_registry()
    stale = custom_gradients(registry) - since if registry is not None else frozenset()
    for name in stale:
        registry.pop(name, None)
    gc.collect()
    libc = glibc()
    if libc is not None:  # not glibc: nothing to trim
        libc.malloc_trim(0)
    return len(stale)
