import torch,time,json,os,subprocess as sp
torch.backends.cuda.enable_cudnn_sdp(False)
F=torch.nn.functional;d='cuda';bf=torch.bfloat16
def mk(L,H,nh,kv,I,V):
 hd=H//nh;r=lambda*s:torch.randn(*s,device=d,dtype=bf)*.02
 return dict(L=L,H=H,nh=nh,kv=kv,hd=hd,E=r(V,H),lm=r(H,V),W=[dict(q=r(H,(nh+2*kv)*hd),o=r(nh*hd,H),g=r(H,2*I),dn=r(I,H)) for _ in range(L)])
def fwd(m,x,K,C,p):
 B,T,H=x.shape;nh,kv,hd=m['nh'],m['kv'],m['hd']
 for i,w in enumerate(m['W']):
  h=F.rms_norm(x,(H,));q,k,v=(h@w['q']).split([nh*hd,kv*hd,kv*hd],-1)
  q=q.view(B,T,nh,hd).transpose(1,2);K[i][:,:,p:p+T]=k.view(B,T,kv,hd).transpose(1,2);C[i][:,:,p:p+T]=v.view(B,T,kv,hd).transpose(1,2)
  a=F.scaled_dot_product_attention(q,K[i][:,:,:p+T],C[i][:,:,:p+T],is_causal=T>1,enable_gqa=True)
  x=x+a.transpose(1,2).reshape(B,T,nh*hd)@w['o']
  g,u=(F.rms_norm(x,(H,))@w['g']).chunk(2,-1);x=x+(F.silu(g)*u)@w['dn']
 return (F.rms_norm(x[:,-1],(H,))@m['lm']).argmax(-1)
def run(m,B,P,N,R):
 K=[torch.empty(B,m['kv'],P+N,m['hd'],device=d,dtype=bf) for _ in range(m['L'])];C=[torch.empty_like(t) for t in K];tt=[];tp=[];w=[]
 for r in range(R+1):
  ids=torch.randint(0,999,(B,P),device=d);torch.cuda.synchronize();t0=time.perf_counter()
  t=fwd(m,m['E'][ids],K,C,0).cpu();t1=time.perf_counter()
  for s in range(N-1):t=fwd(m,m['E'][t.to(d)][:,None],K,C,P+s).cpu()
  t2=time.perf_counter()
  if r:tt.append((t1-t0)*1e3);tp.append((t2-t1)*1e3/(N-1));w.append(t2-t0)
 return tt,tp,w
M={'llama-1b':(22,2048,32,4,5632,32000),'llama-8b':(32,4096,32,8,14336,128256),'qwen-14b':(48,5120,40,8,13824,152064)}
out=dict(gpu=torch.cuda.get_device_name(),mem=torch.cuda.get_device_properties(0).total_memory,torch=torch.__version__,smi=sp.run(['nvidia-smi','--query-gpu=name,driver_version,power.limit,uuid','--format=csv,noheader'],capture_output=True,text=True).stdout.strip(),runs=[])
with torch.inference_mode():
 for n,c in M.items():
  m=mk(*c);np_=sum(t.numel() for w in m['W'] for t in w.values())+m['lm'].numel()+m['E'].numel()
  for B in (1,8,32,64):
   try:
    run(m,B,128,8,1);tt,tp,w=run(m,B,512,64,4)
    out['runs'].append(dict(model=n,cfg=c,params=np_,batch=B,prompt=512,new=64,ttft=tt,tpot=tp,wall=w));print(n,B,min(tt),min(tp),flush=True)
   except Exception as e:print(n,B,'ERR',e,flush=True);out['runs'].append(dict(model=n,batch=B,error=str(e)))
  del m;torch.cuda.empty_cache()
json.dump(out,open(os.environ.get('OUT','.')+'/raw.json','w'))
