#!/usr/bin/env python3
"""Pairwise detection and false-alarm measurement for `parbench compare`.

    scripts/slowdown-pairs.py PARBENCH DIR [--factors 2,1.25] [--runners serial,threads,rayon,process]

DIR holds N result files of unchanged code. For every ordered pair (i, j), i != j, file
i is BASE and file j is NEW, compared three ways:
  - as it is: an exit other than 0 is a false alarm;
  - with one runner's wall times multiplied by each factor (CPU times unchanged, as
    when a runner waits more without working more): exit 1 counts as caught.
Prints the counts per runner and factor; writes nothing into DIR.
"""
import json, os, subprocess, sys, tempfile


def slowed(report, runner, factor):
    for case in report["cases"]:
        for s in case["samples"]:
            if s["runner"] == runner:
                s["wall_ns"] = int(s["wall_ns"] * factor)
    return report


def compare(exe, base, new):
    out = subprocess.run([exe, "compare", base, new, "--format", "json"], capture_output=True, text=True)
    return out.returncode


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    exe, src = args[0], args[1]
    opt = lambda name, default: args[args.index(name) + 1] if name in args else default
    factors = [float(f) for f in opt("--factors", "2,1.25").split(",")]
    runners = opt("--runners", "serial,threads,rayon,process").split(",")
    files = sorted(os.path.join(src, f) for f in os.listdir(src) if f.endswith(".json"))
    pairs = [(a, b) for a in files for b in files if a != b]
    alarms, caught, odd = 0, {(r, f): 0 for r in runners for f in factors}, []
    with tempfile.TemporaryDirectory() as tmp:
        for base, new in pairs:
            code = compare(exe, base, new)
            if code != 0:
                alarms += 1
                odd.append(f"{os.path.basename(base)} -> {os.path.basename(new)}: unchanged, exit {code}")
            for runner in runners:
                for factor in factors:
                    path = os.path.join(tmp, "new.json")
                    with open(new) as f:
                        report = slowed(json.load(f), runner, factor)
                    with open(path, "w") as f:
                        json.dump(report, f)
                    code = compare(exe, base, path)
                    caught[(runner, factor)] += code == 1
                    if code not in (0, 1):
                        odd.append(f"{os.path.basename(base)} -> {os.path.basename(new)}: {runner} x{factor}, exit {code}")
    print(f"{len(pairs)} ordered pairs of {len(files)} runs")
    print(f"unchanged: {alarms} of {len(pairs)} exit non-zero (false alarms)")
    for factor in factors:
        print(f"wall x{factor}: " + ", ".join(f"{r} {caught[(r, factor)]}/{len(pairs)}" for r in runners))
    for line in odd:
        print("  " + line)


if __name__ == "__main__":
    main()
