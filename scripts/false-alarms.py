#!/usr/bin/env python3
"""Leave-one-out false-alarm and detection measurement for `parbench compare`.

    scripts/false-alarms.py PARBENCH DIR [--slowdown 1.25] [--runner threads]

DIR holds N result files of the same suite on unchanged code. For each file i, the
other N-1 files are the baseline directory and file i is NEW: every gated REGRESSION
cell is a false alarm. Then file i is copied with one runner's wall and CPU times
multiplied by --slowdown (a real slowdown of that runner) and compared again: the run
counts as caught when at least one cell of that runner is a REGRESSION.
Prints per-run counts and the totals; writes nothing into DIR.
"""
import json, os, shutil, subprocess, sys, tempfile

def main():
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    exe, src = args[0], args[1]
    slowdown = float(args[args.index("--slowdown") + 1]) if "--slowdown" in args else 1.25
    runner = args[args.index("--runner") + 1] if "--runner" in args else "threads"
    files = sorted(f for f in os.listdir(src) if f.endswith(".json"))
    total_cells = alarms = caught = 0
    for name in files:
        with tempfile.TemporaryDirectory() as tmp:
            base = os.path.join(tmp, "base")
            os.mkdir(base)
            for other in files:
                if other != name:
                    shutil.copy(os.path.join(src, other), base)
            new = os.path.join(src, name)
            out = subprocess.run([exe, "compare", base, new, "--format", "json"], capture_output=True, text=True)
            if out.returncode not in (0, 1):
                sys.exit(f"{name}: compare exited {out.returncode}: {out.stderr or out.stdout}")
            cells = [c for c in json.loads(out.stdout)["cells"] if c["gated"]]
            bad = [c for c in cells if c["verdict"] == "REGRESSION"]
            total_cells += len(cells)
            alarms += len(bad)
            report = json.load(open(new))
            for case in report["cases"]:
                for s in case["samples"]:
                    if s["runner"] == runner:
                        s["wall_ns"] = int(s["wall_ns"] * slowdown)
                        s["cpu_ns"] = int(s["cpu_ns"] * slowdown)
            slow = os.path.join(tmp, "slow.json")
            json.dump(report, open(slow, "w"))
            out = subprocess.run([exe, "compare", base, slow, "--format", "json"], capture_output=True, text=True)
            hits = [c for c in json.loads(out.stdout)["cells"]
                    if c["gated"] and c["verdict"] == "REGRESSION" and c["runner"] == runner]
            caught += bool(hits) and out.returncode == 1
            print(f"{name}: {len(bad)} false alarm(s) in {len(cells)} gated cells"
                  + "".join(f"\n    {c['case']} {c['runner']} {c['metric']} x{c['ratio']:.3f}" for c in bad)
                  + f"; {slowdown}x slower {runner}: {len(hits)} regression cell(s), exit {out.returncode}")
    rate = alarms / total_cells if total_cells else 0.0
    print(f"\nfalse alarms: {alarms} of {total_cells} gated cells ({rate:.2%}) over {len(files)} runs")
    print(f"{slowdown}x slower {runner} caught in {caught} of {len(files)} runs")

if __name__ == "__main__":
    main()
