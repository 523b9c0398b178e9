"""Inventory policy from forecast quantiles, and its simulation.

    from shoplens.inventory import policy_levels, reorder_table, simulate, reorder_list, SafetyStockCalibrator

`reorder_list(ws)` calibrates its safety stock on a backtest of the workspace's own history when it is long
enough (`calibrate_workspace`), else uses the normal z; `table.attrs["safety"]` says which.
"""

from shoplens.inventory.api import calibrate_workspace, describe_safety, reorder_list
from shoplens.inventory.policy import SafetyStockCalibrator, policy_levels, reorder_table, simulate

__all__ = ["SafetyStockCalibrator", "calibrate_workspace", "describe_safety", "policy_levels", "reorder_list",
           "reorder_table", "simulate"]
