import os

LIMIT = 10


class Store:
    """Keeps things."""

    @property
    def size(self) -> int:
        return len(self.items)

    def put(self, key: str) -> None:
        def check(value):
            return os.path.exists(value)

        if check(key):
            self.items.append(key)


async def main():
    await Store().put("x")
