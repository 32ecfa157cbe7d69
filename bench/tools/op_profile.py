"""Where a training step's time goes, per TensorFlow op: a trace of one epoch, summed by op type and by layer.

TensorFlow's profiler writes an XSpace protobuf; each event on a `tf_Compute` thread is one op's
execution, named `<scope path>:<op type>`. Summing their durations by op type, and by the layer
named in the scope path, is the per-op table TensorBoard's profiler plugin shows, without it.
Two compute threads run ops side by side on 2 cores, so the ops' sum exceeds the wall time, and
the profiler's cost per op event inflates many small ops against a few large ones: read the table
for where the arithmetic goes, and the throughput benchmark for what a change buys.
"""
import collections
import glob
import tempfile

WRAPPERS = ("StatefulPartitionedCall", "gradient_tape")  # scopes around the model's, forward and backward


def trace_ops(fit, model_name: str) -> tuple[collections.Counter, collections.Counter]:
    """Run `fit()` under the profiler; (microseconds by op type, microseconds by layer of the
    model named `model_name`)."""
    import tensorflow as tf
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    logdir = tempfile.mkdtemp(prefix="op_profile_")
    tf.profiler.experimental.start(logdir)
    try:
        fit()
    finally:
        tf.profiler.experimental.stop()
    space = xplane_pb2.XSpace()
    with open(sorted(glob.glob(f"{logdir}/**/*.xplane.pb", recursive=True))[-1], "rb") as f:
        space.ParseFromString(f.read())
    by_type, by_layer = collections.Counter(), collections.Counter()
    for plane in space.planes:
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                if ":" not in name or "::" in name:  # the executor's own spans around the ops
                    continue
                path, op_type = name.rsplit(":", 1)
                micros = event.duration_ps / 1e6
                by_type[op_type] += micros
                by_layer[layer_of(path, model_name)] += micros
    return by_type, by_layer


def layer_of(path: str, model_name: str) -> str:
    """The layer an op belongs to: the scope after the model's own in its path (TensorFlow may
    suffix either with _N); ops outside the model are the loss, metrics and optimizer."""
    parts = [p for p in path.split("/") if p not in WRAPPERS]
    if len(parts) > 1 and parts[0].startswith(model_name):
        return parts[1]
    return f"(outside the model: {parts[0]})" if parts else "(outside the model)"


def print_table(title: str, micros: collections.Counter, rows: int) -> None:
    total = sum(micros.values())
    print(f"  {title} (ops' time summed: {total / 1e6:.1f} s)")
    for key, value in micros.most_common(rows):
        print(f"    {key[:44]:44s} {value / 1e6:7.2f} s  {100 * value / total:5.1f}%")
