"""Changing a proxy's filter the way the running Qt version wants it."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSortFilterProxyModel


def change_filter(proxy: QSortFilterProxyModel, apply: Callable[[], None]) -> None:
    """Run `apply` (which changes the filter's inputs) and refilter the rows.

    Qt 6.10 deprecates invalidateFilter() for begin/endFilterChange; older Qt only has the former.
    """
    if hasattr(proxy, "beginFilterChange"):
        proxy.beginFilterChange()
        apply()
        proxy.endFilterChange(QSortFilterProxyModel.Direction.Rows)
    else:
        apply()
        proxy.invalidateFilter()
