import json,glob,sys
d=sys.argv[1] if len(sys.argv)>1 else '.'
for f in sorted(glob.glob(d+'/slow-*.json'))+sorted(glob.glob(d+'/aa-*.json')):
    try: c=json.load(open(f))
    except Exception as e: print(f,'unreadable'); continue
    g=[x for x in c['cells'] if x['gated']]
    reg=[x for x in g if x['verdict']=='REGRESSION']
    fib=[x for x in g if 'fib' in x['case'] and x['metric']=='wall']
    print(f.split('/')[-1], 'gated',len(g),'regressions',len(reg), [ (x['case'][:14],x['runner'],x['metric'],'%+.1f%%'%((x['ratio']-1)*100)) for x in reg])
    print('    fib wall: '+'; '.join('%s %+.1f%% [%+.1f, %+.1f] cv %.0f%% %s'%(x['runner'],(x['ratio']-1)*100,(x['ratio_low']-1)*100,(x['ratio_high']-1)*100,x['cv']*100,x['verdict']) for x in fib))
