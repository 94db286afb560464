"""The main window's views over what plugins do: activity figures (sparklines, the Overview chart, the
glance line), the skills browser's refresh, the code-changed check of the selected plugin, and jumping
to a tab or view by name. A mixin of `MainWindow` (main_window.py).
"""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QTimer

from aleph_gui.core.errors import AlephError
from aleph_gui.ui.activity_chart import format_us

log = logging.getLogger(__name__)

ACTIVITY_REFRESH_S = 2.0  # sparklines, the Overview chart and the glance line follow the stream this often
ACTIVITY_SEED_ROWS = 20_000  # the audit log's last hour read at start-up, so the charts survive a restart
SKILLS_REFRESH_S = 1.0
INSPECT_DELAY_MS = 300  # a selection that stays this long has its code compared to the approved code


class WindowViews:
    """Activity, skills, the approval check, and `show_view`."""

    def _seed_activity(self) -> None:
        """The charts cover the last hour, calls made before this window opened included."""
        try:
            self.activity.add_many(self.manager.audit(ACTIVITY_SEED_ROWS, since=time.time() - 3600))
        except Exception:  # a damaged audit log only costs the charts their past
            log.exception("could not read the last hour of the audit log")
        self.refresh_activity(force=True)

    def refresh_activity(self, force: bool = False) -> None:
        """Sparklines, the Overview chart and the glance line, from the last hour's figures. The minute
        rolls over even when nothing new arrived, so they are redrawn at least once a minute."""
        if self._activity_due(force):
            self._refresh_sparklines()
            self._refresh_activity_views()

    def refresh_activity_soon(self) -> None:
        """The timer's refresh: the table and the charts each in their own turn of the event loop, so
        neither lands on top of a tick that inserts hundreds of hook-log rows."""
        if self._activity_due(False):
            QTimer.singleShot(0, self._refresh_sparklines)
            QTimer.singleShot(0, self._refresh_activity_views)

    def _activity_due(self, force: bool) -> bool:
        self._activity_refreshed = time.monotonic()
        stamp = (self.activity.version, int(time.time() // 60))
        if stamp == self._activity_version and not force:
            return False
        self._activity_version = stamp
        return True

    def _refresh_sparklines(self) -> None:
        self.model.set_sparklines(self.activity.sparklines())

    def _show_selected_activity(self) -> None:
        selected = self.selected_id()
        self.details.overview.show_activity(self.activity.plugin(selected) if selected else None)

    def _refresh_activity_views(self) -> None:
        self._show_selected_activity()
        slowest, blocker = self.activity.leaders()
        parts = []
        if slowest is not None:
            parts.append(f"Slowest handler: {slowest.label} (p95 {format_us(slowest.p95_us)})")
        if blocker is not None:
            parts.append(f"Most frequent blocker: {blocker.label} ({blocker.blocks:,} blocked)")
        self.hook_log.set_glance(("Last hour — " + " · ".join(parts)) if parts else "")

    def _refresh_skills(self, force: bool = False) -> None:
        """Re-read skills only while the browser is visible (reading them touches every skill file)."""
        if not (force or self._skills_dirty) or not self.skills_dock.isVisible() or not self.ready:
            return
        self._skills_dirty = False
        self._skills_refreshed = time.monotonic()
        try:
            entries = self.manager.skills()
        except Exception as exc:  # one unreadable folder must not take the browser down
            log.exception("listing skills failed")
            self.skills.show_error(str(exc))
            return
        self.skills.set_entries(entries, {i.id for i in self.model.infos()})

    def inspect_soon(self) -> None:
        """Compare the selected plugin's code with what was approved once the selection settles (and
        when the user comes back to the window: they may have edited it meanwhile)."""
        info = self.selected_info()
        if info is not None and info.grant is not None and info.origin != "builtin":
            self.inspect_timer.start()

    async def inspect_selected(self) -> None:
        """Compare the selected plugin's code with the approved code (the approval note may change)."""
        info = self.selected_info()
        if info is None or info.state == "overridden":
            return
        try:
            fresh = await self.manager.inspect(info.id)
        except AlephError as exc:
            log.info("could not inspect %s: %s", info.id, exc)
            return
        if fresh.approval_note != info.approval_note and self.selected_id() == fresh.id:
            self.model.update_plugin(fresh)
            self._refresh_details()

    # -- views -----------------------------------------------------------------------------------
    def show_view(self, name: str) -> bool:
        """Show a details tab by name, or the Skills browser ("Skills") or the hook history ("History")."""
        wanted = name.strip().lower()
        if wanted in ("skills", "skills, commands and agents", "commands", "agents"):
            self.skills_dock.show()
            self.skills_dock.raise_()
            self._refresh_skills(force=True)
            self.skills.filter_edit.setFocus()
            return True
        if wanted in ("history", "hook history"):
            self.hook_dock.show()
            self.hook_dock.raise_()
            self.hook_log.set_history(True)
            return True
        if wanted in ("live", "hook log", "live hook log"):
            self.hook_dock.show()
            self.hook_dock.raise_()
            self.hook_log.set_history(False)
            return True
        if self.details.select_tab(name):
            self.details.currentWidget().setFocus()
            return True
        return False

    def try_tool(self, plugin_id: str, tool: str) -> None:
        """Open Try it on one tool (from the MCP servers tab)."""
        if self.selected_id() != plugin_id:
            self.select_plugin(plugin_id)
        self.details.select_tab("Try it")
        if self.try_it.select_tool(tool):
            self.try_it.args_edit.setFocus()

