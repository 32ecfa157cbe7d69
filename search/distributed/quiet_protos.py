"""keras-tuner 1.4.8's `Parent.to_proto` (conditions.py:131) prints its first value, a leftover
debug line: every conditional hyperparameter sent between chief and workers (the recipe's
per-optimizer rates) put "adam", "sgd" ... on the terminal, through the live leaderboard. This
is the same method without the print, installed once by the distributed roles.

Redirecting stdout around the original would not do: the gRPC threads that call it run beside
the console's own printing, and a swapped sys.stdout would swallow that instead.
"""
from keras_tuner.src import protos
from keras_tuner.src.engine import conditions


def parent_to_proto(self):
    """conditions.Parent.to_proto, as keras-tuner writes it, less the print."""
    first = self.values[0]
    if isinstance(first, str):
        field = "string_value"
    elif isinstance(first, bool):
        field = "boolean_value"
    elif isinstance(first, int):
        field = "int_value"
    else:
        field = "float_value"
    values = [protos.get_proto().Value(**{field: v}) for v in self.values]
    return protos.get_proto().Condition(parent=protos.get_proto().Condition.Parent(name=self.name, values=values))


def install() -> None:
    conditions.Parent.to_proto = parent_to_proto
