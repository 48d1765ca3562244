"""Serve the Responses emulator for other processes: ``python -m tests.emulators.openai``.

Prints the base URL (for ``OPENAI_BASE_URL``) on the first line, then serves with
no scripted rules (every review answers with no findings) until interrupted.
``--keys`` lists the accepted API keys (comma-separated).
"""

from __future__ import annotations

import argparse
import time

from tests.emulators.openai.server import ResponsesEmulator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keys", default="sk-test-0,sk-test-1,sk-test-2")
    args = parser.parse_args()
    emulator = ResponsesEmulator(keys=tuple(args.keys.split(","))).serve()
    print(emulator.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        emulator.stop()


if __name__ == "__main__":
    main()
