"""Shared fixtures. Each area's fixtures live in tests/support/ and are registered here."""

pytest_plugins = [
    "tests.support.redis",
    "tests.support.github",
    "tests.support.openai",
    "tests.support.runtime",
]
