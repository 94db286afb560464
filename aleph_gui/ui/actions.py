"""Every user action as a QAction with a shortcut, an icon and an accessible name."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QIcon, QKeySequence
from PySide6.QtWidgets import QWidget

from aleph_gui.ui.icons import icon


@dataclass
class Actions:
    toggle_enabled: QAction
    reload: QAction
    reload_all: QAction
    install_folder: QAction
    install_zip: QAction
    uninstall: QAction
    open_folder: QAction
    review: QAction
    safe_mode: QAction
    find: QAction
    try_it: QAction
    dark_theme: QAction
    quit: QAction

    def plugin_actions(self) -> list[QAction]:
        """Actions that need a selected plugin."""
        return [self.toggle_enabled, self.reload, self.uninstall, self.open_folder, self.review, self.try_it]


def _action(parent: QWidget, text: str, tip: str, shortcuts: list[str] | QKeySequence.StandardKey,
            icon_name: str = "", checkable: bool = False) -> QAction:
    a = QAction(icon(icon_name) if icon_name else QIcon(), text, parent)
    if isinstance(shortcuts, QKeySequence.StandardKey):
        a.setShortcut(QKeySequence(shortcuts))
    else:
        a.setShortcuts([QKeySequence(s) for s in shortcuts])
    keys = ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in a.shortcuts())
    a.setToolTip(f"{tip} ({keys})" if keys else tip)
    a.setStatusTip(tip)
    a.setCheckable(checkable)
    a.setWhatsThis(tip)
    return a


def build_actions(window: QWidget, table: QWidget) -> Actions:
    """Space and Del act on the table only, so they never steal keys from text fields."""
    acts = Actions(
        toggle_enabled=_action(window, "&Enable / Disable", "Turn the selected plugin on or off", ["Space"],
                               "enabled"),
        reload=_action(window, "&Reload", "Re-read the selected plugin from disk", ["F5"], "reload"),
        reload_all=_action(window, "Reload &all", "Rescan every plugin folder and reload every plugin",
                           ["Ctrl+F5", "Shift+F5"], "reload"),
        install_folder=_action(window, "Install from &folder…", "Install a plugin from a folder",
                               ["Ctrl+Shift+O"], "install"),
        install_zip=_action(window, "Install from .&zip…", "Install a plugin from a .zip file", ["Ctrl+O"],
                            "install"),
        uninstall=_action(window, "&Uninstall…", "Remove the selected plugin from disk", ["Del"], "uninstall"),
        open_folder=_action(window, "Open &folder", "Open the selected plugin's folder", ["Ctrl+E"], "folder"),
        review=_action(window, "Review &permissions…", "Review what the plugin may do and approve or deny it",
                       ["Ctrl+R"], "review"),
        safe_mode=_action(window, "&Safe mode", "Run only built-in plugins until you turn safe mode off",
                          ["Ctrl+Shift+S"], "safe_mode", checkable=True),
        find=_action(window, "&Filter plugins", "Jump to the plugin filter box", ["Ctrl+F"]),
        try_it=_action(window, "&Try it", "Call a tool or fire a test event", ["Ctrl+T"], "run"),
        dark_theme=_action(window, "&Dark theme", "Switch between the light and dark palette", ["Ctrl+Shift+D"],
                           checkable=True),
        quit=_action(window, "&Quit", "Close the Extension Manager", ["Ctrl+Q"]),
    )
    for a in (acts.toggle_enabled, acts.uninstall):
        a.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        table.addAction(a)
    for a in (acts.reload, acts.reload_all, acts.install_folder, acts.install_zip, acts.open_folder, acts.review,
              acts.safe_mode, acts.find, acts.try_it, acts.dark_theme, acts.quit):
        a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        window.addAction(a)
    return acts
