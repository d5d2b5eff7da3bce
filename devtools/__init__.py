"""Developer tooling: cached training, NLU evaluation, environment checks."""
