"""Our own Rasa NLU graph components (registered with Rasa's default recipe)."""
