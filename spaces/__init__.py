"""spaces: one module per model family, each a pure `build(hp)`; the registry lives here."""
