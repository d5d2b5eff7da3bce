"""Load benchmark of the assistant: ``python -m bench``."""
