#!/usr/bin/env python3
"""Per run: rounds, serial's median run-queue wait and wall time, median paired speedups."""
import glob, json, statistics as st

def row(f):
    c = json.load(open(f))['cases'][0]
    by = {}
    for x in c['samples']:
        by.setdefault(x['runner'], {})[x['round']] = x
    ser = by['serial']
    waited = st.median([x.get('waited_ns') or 0 for x in ser.values()]) / 1e6
    wall = st.median([x['wall_ns'] for x in ser.values()]) / 1e6
    sp = {r: st.median([ser[k]['wall_ns'] / v['wall_ns'] for k, v in by[r].items() if k in ser])
          for r in by if r != 'serial'}
    return c['rounds'], waited, wall, sp

print('| run | rounds | serial waited for a CPU, median ms | serial wall median ms | threads | mpi |')
print('|---|---|---|---|---|---|')
waits = {}
for m in ('short', 'long', 'none', 'n1', 'n3idle'):
    for i in range(1, 11):
        try:
            rounds, waited, wall, sp = row(f'{m}-{i}.json')
        except FileNotFoundError:
            continue
        waits.setdefault(m, []).append(waited)
        fmt = lambda r: f"{sp[r]:.2f}x" if r in sp else '-'
        print(f'| {m} {i} | {rounds} | {waited:.3f} | {wall:.2f} | {fmt("threads")} | {fmt("mpi")} |')
print()
print('median of the runs\' serial waits (ms):', {m: round(st.median(v), 3) for m, v in waits.items()})
print('pairs where long < short:', sum(l < s for l, s in zip(waits['long'], waits['short'])), 'of', len(waits['long']))
