"""Source adapters: agency files in their own formats → rows of a contract's properties.

`resolve(fmt, path)` picks the adapter (`fmt="auto"` detects it); `Normaliser` converts the
values to the contract's wire types. `gdx.producer.pipeline.produce_file` ties them together.
"""

from gdx.adapters.base import HeaderMap, SourceRow
from gdx.adapters.normalize import Normaliser
from gdx.adapters.registry import FORMATS, UnknownFormat, detect_format, get_adapter, resolve

__all__ = [
    "FORMATS",
    "HeaderMap",
    "Normaliser",
    "SourceRow",
    "UnknownFormat",
    "detect_format",
    "get_adapter",
    "resolve",
]
