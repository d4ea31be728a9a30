"""Switch for the optional system data (Debian ``dataset-fashion-mnist``, ``fortunes``).

Setting ``CONTRASTKIT_HIDE_OPTIONAL_DATA=1`` makes every loader behave as on a fresh machine
without that data: the Debian folders, the download cache, ``$CONTRASTKIT_DATA`` and the network
fetch are ignored, only folders passed explicitly (``root=``) are read. CI runs the test suite
once this way so that the "data absent" path (tests skip with a reason) stays proven.
"""

from __future__ import annotations

import os

HIDE_ENV = "CONTRASTKIT_HIDE_OPTIONAL_DATA"


def optional_data_hidden() -> bool:
    """``True`` when ``$CONTRASTKIT_HIDE_OPTIONAL_DATA`` is set to a true value (1, true, yes, on)."""
    return os.environ.get(HIDE_ENV, "").strip().lower() in ("1", "true", "yes", "on")
