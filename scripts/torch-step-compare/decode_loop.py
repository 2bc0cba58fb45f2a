#!/usr/bin/python3
"""The harness's TorchSharp decode loop, op for op, in PyTorch eager: ms per decode step.

Mirrors src/Harness.Torch/Decoder (DecoderModules.cs, TorchDecoderModel.cs, TorchDecoderRunner.cs):
the same ops in the same order, the same shapes, a preallocated KV cache per layer
[2, batch, kv_heads, max_context, head_dim], greedy decoding with the host reading each step's
tokens, under inference_mode. Weights are random (shapes, not values, set the speed).

Usage: decode_loop.py [--threads 1] [--batch 1,16] [--prompt-tokens 128] [--new-tokens 128]
                      [--reps 5] [--device cpu|cuda] [--dtype fp32|bf16|fp16] CONFIG.json [...]
On a GPU (--device cuda --dtype bf16) this is the same-card PyTorch anchor for the harness's
torch:cuda generate runs; scripts/device-decoders.sh runs it there.
Prints one line per (config, batch): median of the per-generation mean step time (the harness's
tpot_ms p50) and the median single step (itl_ms p50), in ms.
"""
import argparse
import json
import math
import statistics
import sys
import time

import torch
import torch.nn.functional as F


class Decoder:
    def __init__(self, c, dtype=torch.float32):
        self.c = c
        self.gpt2 = c["architecture"] == "gpt2"
        d, inter, layers = c["hidden"], c["intermediate"], c["layers"]
        self.h, self.kvh = c["heads"], c["kv_heads"]
        self.hd = d // self.h
        self.g = self.h // self.kvh
        self.width = (self.h + 2 * self.kvh) * self.hd
        self.scale = 1.0 / math.sqrt(self.hd)
        self.eps = c.get("norm_eps", 1e-5)
        self.dtype = dtype
        r = lambda *shape: (torch.randn(*shape) * 0.02).to(dtype)
        gain = lambda n: (1 + torch.randn(n) * 0.02).to(dtype)
        self.embed = r(c["vocab"], d)
        self.pos = r(c["max_positions"], d) if self.gpt2 else None
        self.layers = []
        for _ in range(layers):
            L = {
                "n1w": gain(d), "n2w": gain(d),
                "qkv": r(d, self.width), "out": r(self.h * self.hd, d),
                "up": r(d, inter if self.gpt2 else 2 * inter), "down": r(inter, d),
            }
            if self.gpt2:
                L.update({"n1b": r(d), "n2b": r(d), "qkvb": r(self.width) if c.get("qkv_bias") else None,
                          "outb": r(d), "upb": r(inter), "downb": r(d)})
            else:
                L["qkvb"] = r(self.width) if c.get("qkv_bias") else None
                # RMSNorm's derived constants, as Norm.Prepare makes them.
                L["g1"] = L["n1w"] * math.sqrt(d)
                L["g2"] = L["n2w"] * math.sqrt(d)
            self.layers.append(L)
        self.nfw, self.nfb = gain(d), (r(d) if self.gpt2 else None)
        self.nfg = None if self.gpt2 else self.nfw * math.sqrt(d)
        self.hyp = torch.tensor(math.sqrt(d * self.eps), dtype=torch.float32)
        self.lm = None if c.get("tie_embeddings") else r(d, c["vocab"])
        self.inter = inter
        self.zero = torch.zeros(1, 1, 1, dtype=dtype)
        if not self.gpt2:
            half = self.hd // 2
            inv = 1.0 / (c.get("rope_theta", 10000) ** (torch.arange(half, dtype=torch.float64) * 2 / self.hd))
            ang = torch.arange(c["max_positions"], dtype=torch.float64)[:, None] * inv[None, :]
            cos, sin = ang.cos().float(), ang.sin().float()
            self.cos = torch.cat([cos, cos], -1).view(-1, 1, self.hd).to(dtype)
            self.signed_sin = torch.cat([-sin, sin], -1).view(-1, 1, self.hd).to(dtype)

    def to(self, device):
        """Moves every tensor (weights, tables, constants) to the device."""
        self.device = torch.device(device)
        mv = lambda t: None if t is None else t.to(self.device)
        for name in ("embed", "pos", "nfw", "nfb", "nfg", "hyp", "lm", "zero", "cos", "signed_sin"):
            if hasattr(self, name):
                setattr(self, name, mv(getattr(self, name)))
        self.layers = [{k: mv(v) for k, v in L.items()} for L in self.layers]
        return self

    def allocate(self, batch, max_context):
        self.max = max_context
        self.cache = [torch.zeros(2, batch, self.kvh, max_context, self.hd, dtype=self.dtype, device=self.device) for _ in self.layers]

    def norm(self, x, w, b, gain):
        if self.gpt2:
            return F.layer_norm(x, (x.shape[-1],), w, b, self.eps)
        fp32 = self.dtype == torch.float32
        x32 = x if fp32 else x.to(torch.float32)
        rms = torch.linalg.vector_norm(x32, 2, [-1], keepdim=True).hypot(self.hyp)
        y = x32.div(rms)
        return y.mul_(gain) if fp32 else y.to(self.dtype).mul_(gain)

    def linear(self, x, w, b):
        return torch.addmm(b, x, w) if b is not None else x.mm(w)

    def add_linear(self, residual, x, w, b):
        residual.addmm_(x, w)
        if b is not None:
            residual.add_(b)

    def attention(self, residual, x, L, cache, b, s, position, cos, ssin, mask):
        w, hd, h, kvh, g = self.width, self.hd, self.h, self.kvh, self.g
        total, bk, mx = position + s, b * kvh, self.max
        qkv = self.linear(x, L["qkv"], L["qkvb"])
        if cos is not None:
            qk = qkv.as_strided([b, s, h + kvh, hd], [s * w, w, hd, 1])
            rolled = qk.roll(hd // 2, -1)
            qk.mul_(cos).addcmul_(rolled, ssin, value=1)
        kv = qkv.as_strided([2, b, kvh, s, hd], [kvh * hd, s * w, hd, w, 1], h * hd)
        cache.narrow(3, position, s).copy_(kv)
        q = qkv.as_strided([b, kvh, g, s, hd], [s * w, g * hd, hd, w, 1]).reshape(bk, g * s, hd)
        keys_t = cache.as_strided([bk, hd, total], [mx * hd, 1, hd])
        values = cache.as_strided([bk, total, hd], [mx * hd, hd, 1], bk * mx * hd)
        if mask is not None:
            scores = torch.baddbmm(mask, q, keys_t, beta=1, alpha=self.scale)
        else:
            scores = torch.baddbmm(self.zero, q, keys_t, beta=0, alpha=self.scale)
        o = scores.softmax(-1).bmm(values)
        if s == 1:
            merged = o.view(b, h * hd)
        else:
            merged = o.as_strided([b, s, kvh, g, hd], [kvh * g * s * hd, hd, g * s * hd, s * hd, 1]).reshape(b * s, h * hd)
        self.add_linear(residual, merged, L["out"], L.get("outb"))

    def mlp(self, residual, x, L):
        if self.gpt2:
            a = self.linear(x, L["up"], L["upb"])
            # TorchSharp calls gelu_ (in place); PyTorch 1.13 has no Tensor.gelu_, and one call is one call.
            self.add_linear(residual, F.gelu(a, approximate="tanh"), L["down"], L["downb"])
            return
        gu = self.linear(x, L["up"], None).split(self.inter, 1)
        self.add_linear(residual, F.silu(gu[0], inplace=True).mul_(gu[1]), L["down"], None)

    def forward(self, ids, b, s, position):
        d = self.c["hidden"]
        x = self.embed.index_select(0, ids)
        if self.gpt2:
            x.view(b, s, d).add_(self.pos.narrow(0, position, s))
        mask = None
        if s > 1:
            future = torch.ones(s, position + s, dtype=torch.bool, device=self.device).triu(position + 1)
            mask = torch.zeros(s, position + s, dtype=self.dtype, device=self.device).masked_fill_(future, float("-inf")).repeat(self.g, 1)
        cos = self.cos.narrow(0, position, s) if not self.gpt2 else None
        ssin = self.signed_sin.narrow(0, position, s) if not self.gpt2 else None
        for L, cache in zip(self.layers, self.cache):
            self.attention(x, self.norm(x, L["n1w"], L.get("n1b"), L.get("g1")), L, cache, b, s, position, cos, ssin, mask)
            self.mlp(x, self.norm(x, L["n2w"], L.get("n2b"), L.get("g2")), L)
        last = x if s == 1 else x.view(b, s, d).select(1, s - 1)
        n = self.norm(last, self.nfw, self.nfb, self.nfg)
        logits = F.linear(n, self.embed) if self.lm is None else n.mm(self.lm)
        return logits if self.dtype == torch.float32 else logits.to(torch.float32)


def generate(m, prompt, b, p, new):
    """Prefill then new-1 decode steps; returns the step times in seconds."""
    steps = []
    tokens = prompt
    nxt = m.forward(tokens, b, p, 0).argmax(-1)
    nxt.cpu().tolist()
    for i in range(1, new):
        t0 = time.perf_counter()
        logits = m.forward(nxt, b, 1, p + i - 1)
        nxt = logits.argmax(-1)
        nxt.cpu().tolist()  # the host reads every step's tokens
        steps.append(time.perf_counter() - t0)
    return steps


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("configs", nargs="+")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", default="1,16")
    ap.add_argument("--prompt-tokens", type=int, default=128)
    ap.add_argument("--new-tokens", type=int, default=128)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="fp32", choices=["fp32", "bf16", "fp16"])
    a = ap.parse_args()
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[a.dtype]
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    gpu = torch.cuda.get_device_name(0) if a.device.startswith("cuda") else "cpu"
    print(f"# torch {torch.__version__}, device {gpu}, dtype {a.dtype}, threads {torch.get_num_threads()}, prompt {a.prompt_tokens}, new {a.new_tokens}, reps {a.reps}")
    for path in a.configs:
        with open(path) as f:
            c = json.load(f)
        with torch.inference_mode():
            m = Decoder(c, dtype).to(a.device)
            for b in [int(x) for x in a.batch.split(",")]:
                m.allocate(b, a.prompt_tokens + a.new_tokens)
                prompt = torch.randint(0, c["vocab"], (b * a.prompt_tokens,), device=m.device)
                generate(m, prompt, b, a.prompt_tokens, min(a.new_tokens, 8))  # warm-up
                per_gen, all_steps = [], []
                for _ in range(a.reps):
                    st = generate(m, prompt, b, a.prompt_tokens, a.new_tokens)
                    per_gen.append(sum(st) / len(st))
                    all_steps += st
                print(f"{c['name']:22} b{b:<3} tpot_p50 {statistics.median(per_gen) * 1e3:9.3f} ms  itl_p50 {statistics.median(all_steps) * 1e3:9.3f} ms  (n={a.reps})", flush=True)


if __name__ == "__main__":
    sys.exit(main())
