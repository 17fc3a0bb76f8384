#!/usr/bin/env python3
"""Runs one libFuzzer target for CI, as TAP:
  1. every input in regressions/ (each once crashed a target) runs clean;
  2. the fuzzer runs for SECONDS from the committed seed corpus, finding
     nothing.
A crash leaves its input in the work folder; the TAP output names it and
says where to commit it so that it becomes a regression test.

usage: run-fuzzer.py FUZZER SECONDS SEED_DIR REGRESSION_DIR WORK_DIR"""

import os
import shutil
import subprocess
import sys


def tail(text, lines=30):
    return "\n".join(text.splitlines()[-lines:])


def report(number, ok, name, detail=""):
    print("%s %d %s" % ("ok" if ok else "not ok", number, name))
    for line in detail.splitlines():
        print("# " + line)
    sys.stdout.flush()


def main():
    fuzzer, seconds, seeds, regressions, work = sys.argv[1:6]
    target = os.path.basename(fuzzer)
    shutil.rmtree(work, ignore_errors=True)
    corpus = os.path.join(work, "corpus")
    os.makedirs(corpus)
    print("1..2")
    failed = False

    cases = sorted(os.path.join(regressions, f) for f in os.listdir(regressions)
                   if not f.startswith(".")) if os.path.isdir(regressions) else []
    if cases:
        replay = subprocess.run([fuzzer, "-runs=0"] + cases, capture_output=True, text=True)
        ok = replay.returncode == 0
        report(1, ok, "%s replays %d past crashes clean" % (target, len(cases)),
               "" if ok else tail(replay.stderr))
        failed |= not ok
    else:
        report(1, True, "%s has no past crashes to replay" % target)

    # The work corpus comes first: new inputs go there, never into the source tree.
    run = subprocess.run(
        [fuzzer, "-max_total_time=" + seconds, "-timeout=10", "-rss_limit_mb=2048",
         "-print_final_stats=1", "-artifact_prefix=" + work + "/", corpus, seeds],
        capture_output=True, text=True)
    ok = run.returncode == 0
    runs = [line for line in run.stderr.splitlines() if line.startswith("stat::number_of_executed_units")]
    summary = runs[0].split(":")[-1].strip() if runs else "?"
    detail = ""
    if not ok:
        artifacts = [f for f in os.listdir(work) if f.startswith(("crash-", "leak-", "timeout-", "oom-"))]
        detail = tail(run.stderr) + "\nexit status %d" % run.returncode + "\nthe input: %s\ncommit it as tests/fuzz/regressions/%s/<name> " \
            "once fixed" % (", ".join(os.path.join(work, a) for a in artifacts) or "(none saved)",
                            target.replace("fuzz-", ""))
    report(2, ok, "%s runs %s s (%s inputs) without a crash" % (target, seconds, summary), detail)
    failed |= not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
