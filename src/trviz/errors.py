"""Typed errors. Every user-facing failure is one of these, with a message that says what to do."""

from __future__ import annotations


class TrvizError(Exception):
    """Base class for trviz errors."""


class TemplateError(TrvizError, ValueError):
    """A draft-tree template is malformed (not prefix-closed, not BFS, rank >= k...)."""


class ConfigError(TrvizError, ValueError):
    """An invalid decoder configuration or argument (k, max_new_tokens, start mode...)."""


class PromptError(TrvizError, ValueError):
    """The prompt is empty or does not fit the model's context window."""


class MatrixError(TrvizError, ValueError):
    """An adjacency matrix does not fit this model: other vocabulary, other k, bad file."""


class ModelLoadError(TrvizError, RuntimeError):
    """A model could not be loaded: missing package, offline hub, unknown id."""


class CacheError(TrvizError, TypeError):
    """The model's KV cache type cannot be compacted by trviz."""


class TraceError(TrvizError, ValueError):
    """A trace file is corrupt, truncated, or of another schema version."""
