"""Precision and recall of tflint-nan on the labelled development corpus: public code nobody here wrote.

The labels are in ``benchmarks/corpus/OWNER__NAME.csv``: one row per risky op inside a select (repository, commit,
path, line, code, label ``bug``/``safe``, kind, reason), decided by reading the code and, where it was not obvious,
by a small TensorFlow reproduction.  The code itself is not in this repository: extract each repository at the
recorded commit into ``CORPUS/OWNER+NAME`` (every ``*.py`` and ``*.ipynb``, paths kept), then run

    python benchmarks/precision.py --corpus CORPUS [--strict] [--show-unlabelled] [--show-misses]

For each repository it runs ``tflint-nan`` (a fresh process, no cache, as a user runs it) at the default level and
with ``--strict``, matches each finding to a label by (path, line, code), and prints: findings, true positives
(labelled bug), false positives (labelled safe), unlabelled findings, precision over labelled findings, and
recall over the labelled bugs.  A finding on a line nobody labelled is reported, not guessed: label it.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
LABELS = HERE / "corpus"


def load_labels(folder: Path) -> dict[str, dict[tuple[str, int, str], dict]]:
    """repo -> {(path, line, code): row}"""
    out: dict[str, dict] = {}
    for csv_path in sorted(folder.glob("*.csv")):
        repo = csv_path.stem.replace("__", "/", 1)
        rows = out.setdefault(repo, {})
        with csv_path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                rows[(row["path"], int(row["line"]), row["code"])] = row
    return out


def lint(folder: Path, strict: bool, config: Path | None = None) -> list[tuple[str, int, str, dict]]:
    command = [sys.executable, "-m", "tflint_nan", "--no-cache", "--exit-zero", "-q", "--output-format", "json", "."]
    if strict:
        command.insert(3, "--strict")
    if config is not None:
        command[3:3] = ["--config", str(config.resolve())]
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1):
        raise SystemExit(f"tflint-nan failed in {folder}: {done.stderr.strip()[-2000:]}")
    findings = []
    for item in json.loads(done.stdout or "[]"):
        if item["code"] == "TFN999":
            continue
        path = item["filename"].removeprefix("./")
        findings.append((path, item["location"]["row"], item["code"], item))
    return findings


LEVELS = {
    "default": (False, lambda item: True),
    # what a default of high and medium confidence would show: measured to choose the default
    "high+medium": (True, lambda item: not item["no_gradient"] and item["confidence"] in ("high", "medium")),
    "strict": (True, lambda item: True),
}
_RUNS: dict[tuple[Path, bool], list] = {}


def measure(labels: dict, folder: Path, level: str, config: Path | None = None) -> dict:
    strict, shown = LEVELS[level]
    if (folder, strict) not in _RUNS:
        _RUNS[(folder, strict)] = lint(folder, strict, config)
    findings = [finding for finding in _RUNS[(folder, strict)] if shown(finding[3])]
    found = set()
    counts = Counter()
    unlabelled = []
    false_kinds = Counter()
    false = []
    for path, line, code, item in findings:
        row = labels.get((path, line, code))
        if row is None:
            counts["unlabelled"] += 1
            unlabelled.append(f"{path}:{line}: {code} [{item.get('confidence')}] {item['message'][:160]}")
            continue
        found.add((path, line, code))
        if row["label"] == "bug":
            counts["tp"] += 1
        else:
            counts["fp"] += 1
            false_kinds[row["kind"]] += 1
            false.append(f"{path}:{line}: {code} [{item.get('confidence')}] {row['kind']}: {row['reason'][:140]}")
    bugs = {key for key, row in labels.items() if row["label"] == "bug"}
    missed = sorted(bugs - found)
    return {"findings": len(findings), "tp": counts["tp"], "fp": counts["fp"], "unlabelled": counts["unlabelled"],
            "bugs": len(bugs), "found_bugs": len(bugs & found), "missed": missed, "unlabelled_list": unlabelled,
            "false_kinds": false_kinds, "false_list": false}


def ratio(numerator: int, denominator: int) -> str:
    return f"{numerator / denominator:.2f}" if denominator else "  - "


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, required=True, help="folder holding OWNER+NAME/ extractions")
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("--show-unlabelled", action="store_true", help="list findings on unlabelled lines")
    parser.add_argument("--show-misses", action="store_true", help="list labelled bugs not reported")
    parser.add_argument("--show-false", action="store_true", help="list findings labelled safe")
    parser.add_argument("--config", type=Path, help="a pyproject.toml with the [tool.tflint-nan] settings to use, "
                                                    "e.g. internal-modules = true")
    arguments = parser.parse_args()
    labels = load_labels(arguments.labels)
    rows = sum(len(repo_labels) for repo_labels in labels.values())
    print(f"{len(labels)} repositories, {rows} labelled sites "
          f"({sum(r['label'] == 'bug' for v in labels.values() for r in v.values())} bugs)")
    for level in LEVELS:
        totals = Counter()
        print(f"\n== {level} ==")
        print(f"{'repository':32} {'findings':>8} {'TP':>4} {'FP':>4} {'unlab':>5} {'precision':>9} "
              f"{'recall':>7}")
        all_false = Counter()
        for repo, repo_labels in labels.items():
            folder = arguments.corpus / repo.replace("/", "+")
            if not folder.is_dir():
                print(f"{repo:32} (not in the corpus folder: {folder})")
                continue
            result = measure(repo_labels, folder, level, arguments.config)
            for key in ("findings", "tp", "fp", "unlabelled", "bugs", "found_bugs"):
                totals[key] += result[key]
            all_false.update(result["false_kinds"])
            print(f"{repo:32} {result['findings']:8} {result['tp']:4} {result['fp']:4} {result['unlabelled']:5} "
                  f"{ratio(result['tp'], result['tp'] + result['fp']):>9} "
                  f"{ratio(result['found_bugs'], result['bugs']):>7}")
            if arguments.show_unlabelled:
                for line in result["unlabelled_list"]:
                    print("    unlabelled:", line)
            if arguments.show_misses:
                for path, line, code in result["missed"]:
                    print(f"    missed bug: {path}:{line}: {code}")
            if arguments.show_false:
                for line in result["false_list"]:
                    print("    false alarm:", line)
        print(f"{'total':32} {totals['findings']:8} {totals['tp']:4} {totals['fp']:4} {totals['unlabelled']:5} "
              f"{ratio(totals['tp'], totals['tp'] + totals['fp']):>9} "
              f"{ratio(totals['found_bugs'], totals['bugs']):>7}")
        if all_false:
            print("false positives by kind: " + ", ".join(f"{k} {v}" for k, v in all_false.most_common()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
