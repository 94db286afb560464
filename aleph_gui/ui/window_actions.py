"""The main window's user actions — enable, reload, install, uninstall, review, trust a project folder,
safe mode, drag and drop — each a manager call awaited on the qasync loop, its failure one sentence in
the message bar. A mixin of `MainWindow` (main_window.py), which owns the widgets and the manager.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from aleph_gui.core.errors import UnknownPlugin
from aleph_gui.core.inventory import PluginInfo
from aleph_gui.ui import theme
from aleph_gui.ui.banner import trust_details
from aleph_gui.ui.review_dialog import ReviewDialog

log = logging.getLogger(__name__)


class WindowActions:
    """What the menus, the toolbar, the bars and drops do (on MainWindow's widgets and manager)."""

    # -- actions ---------------------------------------------------------------------------------
    async def toggle_selected(self) -> None:
        info = self.selected_info()
        if info is None or info.state == "overridden":
            return
        if info.state == "disabled":
            await self._run(f"Enabling {info.name}", self.manager.enable(info.id))
        else:
            await self._run(f"Disabling {info.name}", self.manager.disable(info.id))

    async def reload_selected(self) -> None:
        info = self.selected_info()
        if info is not None:
            await self._run(f"Reloading {info.name}", self.manager.reload(info.id))

    async def reload_all(self) -> None:
        await self._run("Reloading all plugins", self.manager.reload_all())

    async def revoke_selected(self) -> None:
        info = self.selected_info()
        if info is not None:
            await self._run(f"Revoking {info.name}'s approval", self.manager.revoke(info.id))

    async def install(self, path: Path) -> PluginInfo | None:
        result = await self._run(f"Installing {path.name}", self.manager.install(path))
        if isinstance(result, PluginInfo):
            self.message_bar.show_message(
                f"Installed {result.name} {result.version}." + (" Review its permissions to run it."
                                                                 if result.state == "needs_review" else ""),
                error=False)
            self.select_plugin(result.id)
            return result
        return None

    async def set_safe_mode(self, on: bool) -> None:
        if self.manager.safe_mode == on:
            return
        await self._run("Turning safe mode " + ("on" if on else "off"), self.manager.set_safe_mode(on))
        self._after_plugins_changed()

    def set_dark(self, dark: bool) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            theme.apply_theme(app, "dark" if dark else "light")
        self.hook_log.model.set_dark(dark)
        self._refresh_details()

    def open_folder(self) -> None:
        info = self.selected_info()
        if info is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(info.path)))

    def ask_install(self, folder: bool) -> None:
        dialog = QFileDialog(self, "Install plugin from folder" if folder else "Install plugin from .zip")
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        if folder:
            dialog.setFileMode(QFileDialog.FileMode.Directory)
            dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        else:
            dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
            dialog.setNameFilter("Plugin archives (*.zip)")
        dialog.fileSelected.connect(lambda path: self.spawn(self.install(Path(path))))
        self.file_dialog = dialog
        dialog.open()

    def ask_uninstall(self) -> None:
        info = self.selected_info()
        if info is None or info.origin == "builtin" or info.state == "overridden":
            return
        box = QMessageBox(QMessageBox.Icon.Warning, "Uninstall plugin",
                          f"Remove {info.name} ({info.id}) and delete its folder?\n\n{info.path}\n\n"
                          "Its approvals and settings are forgotten too.",
                          QMessageBox.StandardButton.Cancel, self)
        remove = box.addButton("Uninstall", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setAccessibleName("Confirm uninstall")

        def done() -> None:
            if box.clickedButton() is remove:
                self.spawn(self._run(f"Uninstalling {info.name}", self.manager.uninstall(info.id)))

        box.finished.connect(lambda _r: done())
        self.confirm_box = box
        box.open()

    def open_review(self, plugin_id: str | None) -> ReviewDialog | None:
        """Open the (non-blocking) review dialog for one plugin; the choice is applied when made."""
        if not plugin_id:
            return None
        try:
            info = self.manager.plugin(plugin_id)
            diff = self.manager.pending_review(plugin_id)
        except UnknownPlugin:
            return None
        if info.trust_folder:  # nothing to approve before the folder is trusted
            self.message_bar.show_message(f"{info.name} comes with the project folder {info.trust_folder}: trust "
                                          "the folder first (the bar above), then review its permissions.")
            return None
        if self.review_dialog is not None and self.review_dialog.isVisible():
            self.review_dialog.close()
        dialog = ReviewDialog(info, diff, self)  # diff None = look again at an approved scope
        dialog.decided.connect(lambda pid, ok: self.spawn(self.decide_review(pid, ok)))
        self.review_dialog = dialog
        dialog.open()
        return dialog

    async def decide_review(self, plugin_id: str, approved: bool) -> None:
        if approved:
            await self._run(f"Approving {plugin_id}", self.manager.grant(plugin_id))
            return
        info = self.manager.plugin(plugin_id)
        if self.manager.is_loaded(plugin_id):
            # an update asked for more: it is dropped and the approved version keeps running
            await self._run(f"Refusing the update of {info.name}", self.manager.deny(plugin_id))
            self.message_bar.show_message(f"The update of {info.name} was refused; the version you approved "
                                          "keeps running. Reload it to be asked again.", error=False)
            return
        await self._run(f"Turning {info.name} off", self.manager.deny(plugin_id))

    # -- trust (project folders) -------------------------------------------------------------------
    async def set_trusted(self, folder: str | None, trusted: bool) -> None:
        """Trust a project folder (its plugins may run once approved) or stop trusting it (None: this project)."""
        what = "Trusting" if trusted else "No longer trusting"
        target = await self._run(f"{what} {folder or 'this project folder'}", self.manager.trust(folder, trusted))
        if target:
            self.message_bar.show_message(
                f"{target} is trusted: its plugins run once you approve what they ask for." if trusted else
                f"{target} is no longer trusted: its plugins stopped.", error=False)

    def show_trust_details(self, folder: str) -> QMessageBox:
        box = QMessageBox(QMessageBox.Icon.Information, "Trust this project folder?",
                          trust_details(folder, self.trust_banner.plugins), QMessageBox.StandardButton.Close, self)
        trust = box.addButton("Trust folder", QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(QMessageBox.StandardButton.Close)
        box.setAccessibleName("What trusting a project folder means")
        box.finished.connect(lambda _r: box.clickedButton() is trust and self.spawn(self.set_trusted(folder, True)))
        self.confirm_box = box
        box.open()
        return box

    # -- drag and drop ---------------------------------------------------------------------------
    @staticmethod
    def _droppable(event: QDragEnterEvent | QDropEvent) -> list[Path]:
        if not event.mimeData().hasUrls():
            return []
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        return [p for p in paths if p.is_dir() or p.suffix.lower() == ".zip"]

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._droppable(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: Any) -> None:
        event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = self._droppable(event)
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        for path in paths:
            self.spawn(self.install(path))
