"""Retention: delete conversations, tickets and logs past their periods, and
everything of one resident on request ("删除我的记录").

``forget_sender(sender_id) -> dict[str, int]`` is the gateway's entry point;
``python -m retention purge`` (once) and ``python -m retention run`` (every
``RETENTION_INTERVAL_HOURS``) apply the periods of :mod:`retention.config`.
"""
from retention.config import RetentionConfigError, RetentionSettings
from retention.purge import PurgeReport, forget_sender, purge

__all__ = ["forget_sender", "purge", "PurgeReport", "RetentionSettings", "RetentionConfigError"]
