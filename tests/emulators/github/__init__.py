"""A GitHub REST emulator on 127.0.0.1 that enforces GitHub's rules (see ``server``)."""

from .server import ALL_PERMISSIONS, GitHubEmulator, SeededApp

__all__ = ["ALL_PERMISSIONS", "GitHubEmulator", "SeededApp"]
