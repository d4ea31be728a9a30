"""Deprecated import path, kept for one release: the time-series reproductions live in
``contrastkit.papers`` (``papers/autotcl``, ``comet``, ``dbpm``, ``forecasting``; shared helpers in
``papers/_timeseries.py``)."""

from contrastkit.papers._timeseries import RECIPES, load_recipe
from contrastkit.papers.autotcl.reproduce import autotcl_settings
from contrastkit.papers.autotcl.reproduce import reproduce as autotcl
from contrastkit.papers.comet.reproduce import comet_settings
from contrastkit.papers.comet.reproduce import reproduce as comet
from contrastkit.papers.dbpm.reproduce import dbpm_settings
from contrastkit.papers.dbpm.reproduce import reproduce as dbpm
from contrastkit.papers.forecasting.reproduce import forecasting_settings
from contrastkit.papers.forecasting.reproduce import reproduce as forecasting

__all__ = ["RECIPES", "autotcl", "autotcl_settings", "comet", "comet_settings", "dbpm", "dbpm_settings",
           "forecasting", "forecasting_settings", "load_recipe"]
