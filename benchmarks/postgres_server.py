"""A throwaway PostgreSQL server for benchmarks, with PostgreSQL's durable defaults (every
commit flushed), until Ctrl-C: prints its URL for `benchmarks/webhook.py --db`.

    python benchmarks/postgres_server.py
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.postgres import Server, server_binaries

if __name__ == "__main__":
    folder = server_binaries()
    if folder is None:
        sys.exit("error: PostgreSQL's server binaries are not installed (apt-get install postgresql)")
    server = Server(folder, durable=True)
    server.start()
    print(server.url(), flush=True)
    try:
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        server.stop()
