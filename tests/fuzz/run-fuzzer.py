#!/usr/bin/env python3
"""Runs libFuzzer targets for CI, all at once, as TAP:
  1. for each target, every input in its regressions/ (each once crashed a
     target) runs clean;
  2. the targets then fuzz side by side, each for SECONDS from its committed
     seed corpus, each finding nothing.
Each fuzzer runs for SECONDS of wall time, so the test takes the time of one
target however many there are: a fuzzer keeps one core busy, and with more
targets than cores they share the cores (three on two: two thirds of a core
each). Each run's case says how much CPU time its fuzzer had. A crash leaves
its input in the target's work folder; the TAP output names it and says where
to commit it so that it becomes a regression test. Each fuzzer's whole output
is kept in WORK_DIR/fuzz.log.

usage: run-fuzzer.py SECONDS FUZZER SEED_DIR REGRESSION_DIR WORK_DIR
                             [FUZZER SEED_DIR REGRESSION_DIR WORK_DIR ...]"""

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


class Target:
    def __init__(self, fuzzer, seeds, regressions, work):
        self.fuzzer, self.seeds, self.regressions, self.work = fuzzer, seeds, regressions, work
        self.name = os.path.basename(fuzzer)
        self.log_name = os.path.join(work, "fuzz.log")
        self.process = None

    def replay(self, number):
        """Case `number`: the past crashes run clean. Returns whether they did."""
        cases = sorted(os.path.join(self.regressions, f) for f in os.listdir(self.regressions)
                       if not f.startswith(".")) if os.path.isdir(self.regressions) else []
        if not cases:
            report(number, True, "%s has no past crashes to replay" % self.name)
            return True
        replay = subprocess.run([self.fuzzer, "-runs=0"] + cases, capture_output=True, text=True)
        ok = replay.returncode == 0
        report(number, ok, "%s replays %d past crashes clean" % (self.name, len(cases)),
               "" if ok else tail(replay.stderr))
        return ok

    def start(self, seconds):
        # The work corpus comes first: new inputs go there, never into the source tree.
        with open(self.log_name, "w") as log:
            self.process = subprocess.Popen(
                [self.fuzzer, "-max_total_time=" + seconds, "-timeout=10", "-rss_limit_mb=2048",
                 "-print_final_stats=1", "-artifact_prefix=" + self.work + "/",
                 os.path.join(self.work, "corpus"), self.seeds],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)

    def finish(self, number, seconds):
        """Case `number`: the run found nothing. Returns whether it did."""
        # wait4 rather than wait: the fuzzer's own CPU time shows the share of the cores it had.
        _, wait_status, usage = os.wait4(self.process.pid, 0)
        status = self.process.returncode = os.waitstatus_to_exitcode(wait_status)
        cpu_seconds = usage.ru_utime + usage.ru_stime
        with open(self.log_name, errors="replace") as log:
            output = log.read()
        ok = status == 0
        runs = [line for line in output.splitlines()
                if line.startswith("stat::number_of_executed_units")]
        summary = runs[0].split(":")[-1].strip() if runs else "?"
        detail = ""
        if not ok:
            artifacts = [f for f in os.listdir(self.work)
                         if f.startswith(("crash-", "leak-", "timeout-", "oom-"))]
            inputs = [os.path.join(self.work, a) for a in artifacts]
            detail = (tail(output) + "\nexit status %d" % status +
                      "\nthe whole output: %s" % self.log_name +
                      "\nthe input: %s" % (", ".join(inputs) or "(none saved)") +
                      ("\nrun it again: %s %s" % (self.fuzzer, inputs[0]) if inputs else "") +
                      "\ncommit it as tests/fuzz/regressions/%s/<name> once fixed"
                      % self.name.replace("fuzz-", ""))
        report(number, ok, "%s runs %s s (%s inputs, %.0f s of CPU) without a crash"
               % (self.name, seconds, summary, cpu_seconds), detail)
        return ok


def main():
    seconds, rest = sys.argv[1], sys.argv[2:]
    if not rest or len(rest) % 4:
        sys.exit(__doc__)
    targets = [Target(*rest[i:i + 4]) for i in range(0, len(rest), 4)]
    for target in targets:
        shutil.rmtree(target.work, ignore_errors=True)
        os.makedirs(os.path.join(target.work, "corpus"))
    print("1..%d" % (2 * len(targets)))

    # The replays take milliseconds; then every fuzzer starts at once.
    ok = [target.replay(number) for number, target in enumerate(targets, 1)]
    for target in targets:
        target.start(seconds)
    ok += [target.finish(number, seconds)
           for number, target in enumerate(targets, len(targets) + 1)]
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main())
