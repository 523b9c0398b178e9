"""Inventory policy from forecast quantiles, and its simulation.

    from shoplens.inventory import policy_levels, reorder_table, simulate, reorder_list, SafetyStockCalibrator
"""

from shoplens.inventory.api import reorder_list
from shoplens.inventory.policy import SafetyStockCalibrator, policy_levels, reorder_table, simulate

__all__ = ["SafetyStockCalibrator", "policy_levels", "reorder_list", "reorder_table", "simulate"]
