"""Rasa action server. rasa_sdk registers every Action subclass in this package."""
