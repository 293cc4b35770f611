#!/usr/bin/env python3
"""The mpi runner's median paired speedup per run, by fib size, workers and rank 0's wait."""
import glob, json, statistics as st

rows = {}
for f in sorted(glob.glob('n*-t*-*-*.json')):
    n, t, mode, i = f[:-5].split('-')
    c = json.load(open(f))['cases'][0]
    by = {}
    for x in c['samples']:
        by.setdefault(x['runner'], {})[x['round']] = x
    assert all(x['verification']['status'] == 'verified' for x in c['samples']), f
    sp = st.median([by['serial'][k]['wall_ns'] / v['wall_ns'] for k, v in by['mpi'].items() if k in by['serial']])
    rows.setdefault((n, t, mode), []).append(sp)
print('| fib | workers | rank 0 waits | mpi speedup, runs 1-3 | median |')
print('|---|---|---|---|---|')
for (n, t, mode), v in sorted(rows.items()):
    print(f"| {n[1:]} | {t[1:]} | {mode} | {', '.join(f'{x:.2f}x' for x in v)} | {st.median(v):.2f}x |")
