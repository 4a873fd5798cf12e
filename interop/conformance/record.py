"""Writes an expected-results file for `ws-conformance --expect` from one or more JSON reports
of the same peer (`--json FILE`): every case whose verdict is not OK in some run is listed,
with `A|B` when runs disagree (a race in the peer, explained in docs/conformance.md).

    python3 interop/conformance/record.py "HEADER LINE" run1.json [run2.json ...] > FILE
"""

import json
import sys


def main():
    header, paths = sys.argv[1], sys.argv[2:]
    seen = {}
    order = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            report = json.load(f)
        for case in report["cases"]:
            if case["id"] not in seen:
                seen[case["id"]] = set()
                order.append(case["id"])
            seen[case["id"]].add(case["verdict"])
    rank = ["OK", "INFORMATIONAL", "NON-STRICT", "FAILED"]
    print(f"# {header}")
    print("# Cases not listed are OK. Regenerate with interop/conformance/record.py;")
    print("# every verdict here is explained in docs/conformance.md.")
    for case_id in order:
        verdicts = seen[case_id]
        if verdicts != {"OK"}:
            print(f"{case_id} {'|'.join(sorted(verdicts, key=rank.index))}")


if __name__ == "__main__":
    main()
