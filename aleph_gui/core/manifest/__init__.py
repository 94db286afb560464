"""Plugin manifests: find a folder's manifest, read it, map it onto `PluginManifest`, validate it.

Kept light on purpose (nothing imported here): discovery lists thousands of folders. This package
imports no runtime, no state and no hook executor; see docs/ARCHITECTURE.md for its modules.
"""
