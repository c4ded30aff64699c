"""What ``tflint-nan --strict --dynamic`` concludes on the labelled development corpus.

The corpus is the one ``precision.py`` measures (labels in ``benchmarks/corpus/OWNER__NAME.csv``, code extracted
into ``CORPUS/OWNER+NAME``).  For each repository it runs ``tflint-nan --strict --dynamic`` (a fresh process, no
cache, as a user runs it), matches each finding to its label by (path, line, code) and prints:

* findings, and how many were probed (a verdict other than "not probed");
* confirmations that land on findings labelled safe (confirmed false alarms: the aim is none);
* labelled bugs reported, and how many of them were confirmed;
* the other verdicts: not confirmed (a NaN from elsewhere), refuted, not probed by reason.

    python benchmarks/dynamic_corpus.py --corpus CORPUS [--repo OWNER/NAME] [--timeout 30] [--show]

The probes import the corpus's modules, so run it with the python of an environment that has the packages the
corpus imports (``benchmarks/dynamic_corpus_requirements.txt``); a missing package leaves a finding "not probed".
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

from precision import LABELS, load_labels  # noqa: E402

from tflint_nan.dynamic import reason_kind  # noqa: E402


def run(folder: Path, timeout: float) -> list[dict]:
    command = [sys.executable, "-m", "tflint_nan", "--strict", "--dynamic", "--timeout", str(timeout),
               "--no-cache", "--exit-zero", "-q", "--output-format", "json", "."]
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1):
        raise SystemExit(f"tflint-nan failed in {folder}: {done.stderr.strip()[-2000:]}")
    return [item for item in json.loads(done.stdout or "[]") if item["code"] != "TFN999"]


def measure(labels: dict, findings: list[dict]) -> dict:
    counts: Counter = Counter()
    reasons: Counter = Counter()
    details = []
    for item in findings:
        verdict = item.get("dynamic") or {}
        status = verdict.get("verdict", "none")
        path = item["filename"].removeprefix("./")
        row = labels.get((path, item["location"]["row"], item["code"]))
        label = row["label"] if row else "unlabelled"
        counts["findings"] += 1
        counts[status] += 1
        counts[f"{label}"] += 1
        counts[f"{label} {status}"] += 1
        if status == "not_probed":
            reasons[reason_kind(verdict.get("reason") or "")] += 1
        details.append(f"{path}:{item['location']['row']}: {item['code']} [{label}] {verdict.get('text', '')[:200]}")
    return {"counts": counts, "reasons": reasons, "details": details}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, required=True, help="folder holding OWNER+NAME/ extractions")
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("--repo", action="append", help="only this repository (OWNER/NAME); may be repeated")
    parser.add_argument("--timeout", type=float, default=30.0, help="--timeout for each probed function")
    parser.add_argument("--show", action="store_true", help="list every finding with its label and verdict")
    arguments = parser.parse_args()
    labels = load_labels(arguments.labels)
    header = (f"{'repository':34} {'find':>4} {'probed':>6} {'conf':>4} {'conf/safe':>9} {'bugs':>4} "
              f"{'bug conf':>8} {'elsewh':>6} {'refut':>5} {'n.p.':>4}  not probed by reason")
    print(header)
    totals: Counter = Counter()
    all_reasons: Counter = Counter()
    for repo, repo_labels in labels.items():
        if arguments.repo and repo not in arguments.repo:
            continue
        folder = arguments.corpus / repo.replace("/", "+")
        if not folder.is_dir():
            print(f"{repo:34} (not in the corpus folder: {folder})")
            continue
        started = time.monotonic()
        result = measure(repo_labels, run(folder, arguments.timeout))
        counts, reasons = result["counts"], result["reasons"]
        probed = counts["findings"] - counts["not_probed"]
        totals.update(counts)
        all_reasons.update(reasons)
        print(f"{repo:34} {counts['findings']:4} {probed:6} {counts['confirmed']:4} "
              f"{counts['safe confirmed']:9} {counts['bug']:4} {counts['bug confirmed']:8} "
              f"{counts['not_confirmed']:6} {counts['refuted']:5} {counts['not_probed']:4}  "
              + ", ".join(f"{n} {k}" for k, n in reasons.most_common())
              + f"  ({time.monotonic() - started:.0f} s)", flush=True)
        if arguments.show:
            for line in result["details"]:
                print("    " + line)
    probed = totals["findings"] - totals["not_probed"]
    print(f"{'total':34} {totals['findings']:4} {probed:6} {totals['confirmed']:4} {totals['safe confirmed']:9} "
          f"{totals['bug']:4} {totals['bug confirmed']:8} {totals['not_confirmed']:6} {totals['refuted']:5} "
          f"{totals['not_probed']:4}  " + ", ".join(f"{n} {k}" for k, n in all_reasons.most_common()))
    if totals["confirmed"]:
        print(f"share of confirmations on findings labelled safe: {totals['safe confirmed'] / totals['confirmed']:.2f}")
    if totals["bug"]:
        print(f"share of reported labelled bugs confirmed: {totals['bug confirmed'] / totals['bug']:.2f}")
    if totals["findings"]:
        print(f"share not probed: {totals['not_probed'] / totals['findings']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
