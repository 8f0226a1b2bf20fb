"""Rewrite `expected.json` from the current code: `python -m tests.golden.record`.

Run it only after a change that is meant to move numbers, and say in the closing note which
cases changed and why (`git diff tests/golden/expected.json` shows them).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from tests.conftest import SAMPLE_CSV
from tests.golden.cases import CASES, EXPECTED, needs_sample, run_case


def main() -> int:
    """Record every case (all of them: the real sample must be present)."""
    if any(needs_sample(case) for case in CASES) and not SAMPLE_CSV.exists():
        print(f"the real sample is missing at {SAMPLE_CSV}; cannot record", file=sys.stderr)
        return 2
    records: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="atb-golden-") as folder:
        root = Path(folder)
        for case in CASES:
            model_dir = root / case.id / "models"
            store_dir = root / case.id
            model_dir.mkdir(parents=True)
            record = run_case(case, model_dir, store_dir)
            records[case.id] = record
            print(f"recorded {case.id}: {record['trades']} trades")
    EXPECTED.write_text(json.dumps(records, indent=1, sort_keys=True) + "\n")
    print(f"wrote {EXPECTED}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
