"""Distributed search on keras-tuner's chief/worker engine: the chief (`chief`), local worker
processes (`workers`) and what each role runs (`roles`)."""
