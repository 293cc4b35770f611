import json,sys,os
D=sys.argv[1]
rows={}
for l in open(os.path.join(D,'log.txt')):
    b,i,rc=l.split()[:3]; load=' '.join(l.split()[3:6])
    d=json.load(open(os.path.join(D,f'cmp-{b}-{i}.json')))
    cells=[c for c in d['cells'] if c['gated']]
    regs=[c for c in cells if c['verdict']=='REGRESSION']
    thr=[c for c in regs if c['runner']=='threads' and b!='X']
    wrong=[c for c in regs if b=='X' or c['runner']!='threads']
    print(f"{b:4} {i} exit {rc.split('=')[1]} {load} gated {len(cells)} regressions {len(regs)} (threads {len(thr)}, false {len(wrong)}) absolute_gated {d['absolute_gated']}")
    for c in wrong: print("     FALSE:", c['case'], c['runner'], c['metric'], round((c['ratio']-1)*100,1))
    r=rows.setdefault(b,[0,0,0,0]); r[0]+=1; r[1]+= rc=='rc=1'; r[2]+=len(cells); r[3]+=len(wrong)
for b,r in rows.items(): print(b, f"runs {r[0]} exit1 {r[1]} gated {r[2]} false {r[3]}")
