"""Rasa 3.6 runtime fixes that change no answer, installed by the tracker store
Rasa loads from ``endpoints.yml`` (:mod:`stack.tracker_store`).

Every reply of the action server is checked against Rasa's response schema with
``jsonschema.validate``, which first re-checks the schema itself against the JSON
Schema meta-schema — about 35 ms of CPU per action call with jsonschema 4.17,
more than understanding the message. The profile in bench/results/ shows it as
the largest single cost of a turn. Here the schema is checked once and the
validator reused; a reply that fails goes through Rasa's own method, so the error
and its message stay exactly Rasa's.

Loading a tracker turns every stored event back into an object, and for each one
``Event.resolve_by_type`` walks all subclasses of ``Event`` (with an
``inspect.isabstract`` check each) to find the class of its type name: a cost per
event, so a turn grows slower with every turn before it. The class found for a
type name is remembered; unknown names still go through Rasa's method.
"""
from __future__ import annotations

import logging

log = logging.getLogger(__name__)
_MARK = "_medins_cached_validator"


def install() -> bool:
    """Both patches, once per process; True when installed now."""
    from rasa.core.actions.action import RemoteAction

    if getattr(RemoteAction, _MARK, None) is not None:
        return False
    _cache_event_types()
    _cache_reply_validator(RemoteAction)
    return True


def _cache_event_types() -> None:
    from rasa.shared.core.events import Event

    rasa_resolve = Event.resolve_by_type
    found: dict[str, type] = {}

    def resolve_by_type(type_name, default=None):  # noqa: ANN001, ANN202 - Rasa's signature
        cls = found.get(type_name)
        if cls is None:
            cls = rasa_resolve(type_name, default)
            if cls is not None and cls is not default:
                found[type_name] = cls
        return cls

    resolve_by_type.__doc__ = rasa_resolve.__doc__
    Event.resolve_by_type = staticmethod(resolve_by_type)


def _cache_reply_validator(RemoteAction) -> None:  # noqa: N803 - the class
    from jsonschema import exceptions, validators

    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)  # what validate() repeated on every call
    validator = cls(schema)
    rasa_validate = RemoteAction._validate_action_result

    def _validate_action_result(self, result):  # noqa: ANN001 - Rasa's signature
        if exceptions.best_match(validator.iter_errors(result)) is None:
            return True
        return rasa_validate(self, result)  # raises Rasa's ValidationError

    _validate_action_result.__doc__ = rasa_validate.__doc__
    RemoteAction._validate_action_result = _validate_action_result
    setattr(RemoteAction, _MARK, validator)
    log.info("action server replies validated with a cached %s", cls.__name__)
