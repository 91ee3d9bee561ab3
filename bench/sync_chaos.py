"""Sync chaos campaign: kiosks drain through a fault-injecting proxy while central is killed with SIGKILL.

Several kiosks (one store each) with 50k answers in total upload concurrently to `kiosk-central serve`
(a subprocess, SQLite or PostgreSQL) through a loopback proxy that resets connections before and after the
server answered, delays answers (some beyond the kiosk's read timeout) and truncates them; the server is
killed -9 at random moments (while a batch is inside it when possible) and restarted on the same port and
database. At the end central must hold every answer exactly once, and its scores must equal each kiosk's
`kiosk scores --json`. Prints the figures; exits 1 when anything was lost, doubled or differs.

    .venv/bin/python bench/sync_chaos.py [--kiosks 5] [--answers 50000] [--db sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.integration.sync.chaos import FAULTS, run_chaos

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=test"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kiosks", type=int, default=5, help="kiosks, one store each (default 5)")
    parser.add_argument("--answers", type=int, default=50_000, help="answers in total (default 50000)")
    parser.add_argument("--batch-size", type=int, default=100, help="answers per upload (default 100)")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite", help="central database")
    parser.add_argument(
        "--fault-rate", type=float, default=0.06, help="probability of each fault per request"
    )
    parser.add_argument("--kill-min", type=float, default=0.3, help="shortest time between kills (s)")
    parser.add_argument("--kill-max", type=float, default=1.5, help="longest time between kills (s)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (faults, kill times, answers)")
    args = parser.parse_args()

    rates = dict.fromkeys(FAULTS, args.fault_rate) | {"stall": args.fault_rate / 6}
    with tempfile.TemporaryDirectory(prefix="kiosk-chaos-") as tmp:
        root = Path(tmp)
        pg_name = None
        if args.db == "sqlite":
            url = f"sqlite:///{root / 'central.db'}"
        else:
            import psycopg

            pg_name = f"kiosk_chaos_{uuid.uuid4().hex[:12]}"
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{pg_name}"')
            url = f"postgresql://postgres@127.0.0.1:5432/{pg_name}"
        try:
            report = run_chaos(
                root / "kiosks",
                url,
                kiosks=args.kiosks,
                total=args.answers,
                batch_size=args.batch_size,
                rates=rates,
                kill_every=(args.kill_min, args.kill_max),
                read_timeout=3.0,
                seed=args.seed,
                log=root / "central.log",
            )
        finally:
            if pg_name:
                import psycopg

                with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                    admin.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
    print(f"sync chaos, central on {args.db}, batch {args.batch_size}, seed {args.seed}")
    for line in report.lines():
        print("  " + line)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
