# Serves GPU work steps to the harness over stdin/stdout: one line in, one step, one line out.
#   decode: B sequences x L layers of a D x D bf16 matrix-vector product (decode-shaped: memory-bound)
#   gemm:   K products of two N x N bf16 matrices (compute-bound)
import sys
import torch

mode = sys.argv[1]
dev = "cuda"
if mode == "decode":
    L, D, B = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    weights = [torch.randn(D, D, dtype=torch.bfloat16, device=dev) / D ** 0.5 for _ in range(L)]
    x = torch.randn(B, D, dtype=torch.bfloat16, device=dev)

    def step():
        h = x
        for w in weights:
            h = h @ w
else:
    N, K = int(sys.argv[2]), int(sys.argv[3])
    a = torch.randn(N, N, dtype=torch.bfloat16, device=dev)
    b = torch.randn(N, N, dtype=torch.bfloat16, device=dev)

    def step():
        for _ in range(K):
            torch.mm(a, b)

step()
torch.cuda.synchronize()
print("ready", flush=True)
for line in sys.stdin:
    step()
    torch.cuda.synchronize()
    sys.stdout.write("ok\n")
    sys.stdout.flush()
