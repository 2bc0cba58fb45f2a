import torch,time,json,os,subprocess as sp
Q=torch.cuda;torch.backends.cuda.enable_cudnn_sdp(False);Z=time.perf_counter
F=torch.nn.functional;d='cuda';T_=torch.bfloat16;A=F.scaled_dot_product_attention
def mk(L,H,nh,kv,I,V):
 hd=H//nh;r=lambda*s:torch.randn(*s,device=d,dtype=T_)*.02
 return dict(L=L,H=H,nh=nh,kv=kv,hd=hd,E=r(V,H),lm=r(H,V),W=[dict(q=r(H,(nh+2*kv)*hd),o=r(nh*hd,H),g=r(H,2*I),dn=r(I,H)) for _ in range(L)])
def fwd(m,x,K,C,p,M=None):
 B,T,H=x.shape;nh,kv,hd=m['nh'],m['kv'],m['hd']
 for i,w in enumerate(m['W']):
  h=F.rms_norm(x,(H,));q,k,v=(h@w['q']).split([nh*hd,kv*hd,kv*hd],-1)
  q=q.view(B,T,nh,hd).transpose(1,2);k=k.view(B,T,kv,hd).transpose(1,2);v=v.view(B,T,kv,hd).transpose(1,2)
  if M is None:K[i][:,:,:T]=k;C[i][:,:,:T]=v;a=A(q,k,v,is_causal=True,enable_gqa=True)
  else:K[i].index_copy_(2,p,k);C[i].index_copy_(2,p,v);a=A(q,K[i],C[i],attn_mask=M,enable_gqa=True)
  x=x+a.transpose(1,2).reshape(B,T,nh*hd)@w['o']
  g,u=(F.rms_norm(x,(H,))@w['g']).chunk(2,-1);x=x+(F.silu(g)*u)@w['dn']
 return (F.rms_norm(x[:,-1],(H,))@m['lm']).argmax(-1)
def run(m,B,P,N,R):
 S=P+N;K=[torch.zeros(B,m['kv'],S,m['hd'],device=d,dtype=T_) for _ in range(m['L'])];C=[torch.zeros_like(t) for t in K]
 tok=torch.zeros(B,dtype=int,device=d);pos=torch.zeros(1,dtype=int,device=d);M=torch.zeros(1,1,1,S,dtype=torch.bool,device=d);M[...,0]=True
 def st():tok.copy_(fwd(m,m['E'][tok][:,None],K,C,pos,M))
 s=Q.Stream();s.wait_stream(Q.current_stream())
 with Q.stream(s):
  for _ in range(2):st()
 Q.current_stream().wait_stream(s);g=Q.CUDAGraph()
 with Q.graph(g):st()
 tt=[];tp=[];w=[]
 for r in range(R+1):
  ids=torch.randint(0,999,(B,P),device=d);M.zero_();M[...,:P]=True;Q.synchronize();t0=Z()
  t=fwd(m,m['E'][ids],K,C,0);t.cpu();t1=Z();tok.copy_(t)
  for i in range(N-1):pos.fill_(P+i);M[...,P+i]=True;g.replay();tok.cpu()
  t2=Z()
  if r:tt.append((t1-t0)*1e3);tp.append((t2-t1)*1e3/(N-1));w.append(t2-t0)
 return tt,tp,w
M_={'llama-1b':(22,2048,32,4,5632,32000),'llama-8b':(32,4096,32,8,14336,128256),'qwen-14b':(48,5120,40,8,13824,152064)}
out=dict(mem=Q.get_device_properties(0).total_memory,torch=torch.__version__,smi=sp.getoutput('nvidia-smi --query-gpu=name,driver_version,power.limit,uuid --format=csv,noheader'),runs=[])
with torch.no_grad():
 for n,c in M_.items():
  m=mk(*c)
  for B in (1,8,32,64):
   try:
    tt,tp,w=run(m,B,512,64,4);out['runs'].append(dict(model=n,cfg=c,batch=B,prompt=512,new=64,ttft=tt,tpot=tp,wall=w));print(n,B,min(tt),min(tp))
   except Exception as e:print(n,B,'ERR',e)
  del m;Q.empty_cache()
json.dump(out,open(os.environ['OUT']+'/raw.json','w'))
