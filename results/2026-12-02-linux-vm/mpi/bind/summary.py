import json, statistics as st, glob
print("| run | speedup (median of rounds) | rounds | mpi wait to run, median ms | mpi wall median ms | verified |")
print("|---|---|---|---|---|---|")
for mode in ("bound", "unbound"):
    for i in range(1, 6):
        r = json.load(open(f"{mode}-{i}.json")); c = r["cases"][0]
        sp = [row["speedup"]["median"] for row in c["rows"] if row["runner"] == "mpi"][0]
        ms = [s for s in c["samples"] if s["runner"] == "mpi"]
        ok = all(s["verification"]["status"] == "verified" for s in c["samples"])
        print(f"| {mode} {i} | {sp:.2f}x | {len(ms)} | {st.median(s['waited_ns'] for s in ms)/1e6:.2f} | {st.median(s['wall_ns'] for s in ms)/1e6:.2f} | {ok} |")
