"""Test-only start-up hook: Python imports `sitecustomize` at start, so a search the suite runs in
a subprocess (a killed and resumed search, the distributed chief and its workers) runs Keras's
functions eagerly, as the suite's own process does (tests/conftest.py, `subprocess_env`).

Only on TensorFlow, where tracing is most of a tiny trial's time; what these tests check is the
processes' coordination, and graph-mode faults are caught by the tests that trace. Nothing outside
the suite puts this folder on PYTHONPATH."""
import os

if os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow":
    from search import tf_memory

    tf_memory.prefer_system_allocator()  # as search.run does, before TensorFlow allocates
    if tf_memory.on_tensorflow():
        import tensorflow as tf

        tf.config.run_functions_eagerly(True)
