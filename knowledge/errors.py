"""Domain errors of the knowledge base; callers turn them into hotline replies."""


class KnowledgeError(Exception):
    """The knowledge base cannot answer (missing content or database down)."""


class EntryNotFound(KnowledgeError):
    """No local or national entry exists for a topic."""


class StoreUnavailable(KnowledgeError):
    """The database could not be reached or queried."""
