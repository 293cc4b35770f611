# Summarises the ab runs of a series directory: DIR/log.txt lines 'KIND I rc=N secs=S load=...',
# DIR/KIND-I.json. KIND aa is A/A; any other kind is the threads runner slowed.
import json,sys,glob,re,os
D=sys.argv[1]
log={}
for l in open(os.path.join(D,'log.txt')):
    k,i,rc,secs=l.split()[:4]
    try: secs=float(secs.split('=')[1])
    except ValueError: secs=float('nan')
    log[(k,i)]=(rc.split('=')[1],secs,' '.join(l.split()[4:7]))
tot={}
for (k,i),(rc,secs,load) in sorted(log.items(), key=lambda x:(x[0][0],int(x[0][1]))):
    d=json.load(open(os.path.join(D,f'{k}-{i}.json')))
    cells=[c for c in d['cells'] if c['gated']]
    regs=[c for c in cells if c['verdict']=='REGRESSION']
    wrong=[c for c in regs if k=='aa' or c['runner']!='threads']
    p=d['builds']['pairs']
    thr=[c for c in regs if c['runner']=='threads']
    print(f"{k:4} {i:>2} exit {rc} {secs:5.1f}s load {load}  gated {len(cells)}  regressions {len(regs)} (threads {len(thr)}, false {len(wrong)})  pairs {p['pairs']} again {p['remeasured']} disturbed {p['disturbed']}")
    for c in wrong: print("      FALSE:", c['case'], c['runner'], c['metric'], round((c['ratio']-1)*100,1), [round((c['ratio_low']-1)*100,1), round((c['ratio_high']-1)*100,1)])
    if k!='aa':
        print("      caught by:", sorted(set(c['case'].split(' (')[0]+'/'+c['metric'] for c in thr)))
    t=tot.setdefault(k,[0,0,0,0]); t[0]+=1; t[1]+= rc=='1'; t[2]+=len(cells); t[3]+=len(wrong)
for k,t in tot.items(): print(k, f"runs {t[0]} exit1 {t[1]} gated {t[2]} false {t[3]}")
