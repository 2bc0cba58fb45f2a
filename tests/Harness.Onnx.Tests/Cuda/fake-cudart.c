/* A stand-in for libcudart with the calls Harness.Onnx/Cuda uses, for tests on machines without a
 * GPU: "device" memory is host memory that the fake remembers, so it can refuse copies whose kind
 * does not match where the pointers came from, and count what was never freed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BLOCKS 1024
enum { HOST = 1, DEVICE = 2 };
static struct { char *p; size_t n; int kind; } blocks[MAX_BLOCKS];
static int current_device = -1;
static int copies = 0;

static int kind_of(const void *p, size_t n) {
  for (int i = 0; i < MAX_BLOCKS; i++)
    if (blocks[i].p && (const char *)p >= blocks[i].p && (const char *)p + n <= blocks[i].p + blocks[i].n) return blocks[i].kind;
  return 0;
}

static int track(void **out, size_t n, int kind) {
  for (int i = 0; i < MAX_BLOCKS; i++)
    if (!blocks[i].p) {
      blocks[i].p = calloc(1, n ? n : 1);
      blocks[i].n = n;
      blocks[i].kind = kind;
      *out = blocks[i].p;
      return 0;
    }
  return 2; /* cudaErrorMemoryAllocation */
}

static int untrack(void *p, int kind) {
  for (int i = 0; i < MAX_BLOCKS; i++)
    if (blocks[i].p == p && blocks[i].kind == kind) {
      free(blocks[i].p);
      blocks[i].p = 0;
      return 0;
    }
  return 1; /* cudaErrorInvalidValue */
}

int cudaSetDevice(int d) { current_device = d; return d >= 0 && d < 8 ? 0 : 101; /* cudaErrorInvalidDevice */ }
int cudaMalloc(void **p, size_t n) { return current_device < 0 ? 100 : track(p, n, DEVICE); }
int cudaFree(void *p) { return untrack(p, DEVICE); }
int cudaMallocHost(void **p, size_t n) { return track(p, n, HOST); }
int cudaFreeHost(void *p) { return untrack(p, HOST); }

int cudaMemcpy(void *dst, const void *src, size_t n, int kind) {
  /* 1: host to device, 2: device to host. Pageable host memory (kind 0) is fine as a source or target. */
  int s = kind_of(src, n), d = kind_of(dst, n);
  if ((kind == 1 && (d != DEVICE || s == DEVICE)) || (kind == 2 && (s != DEVICE || d == DEVICE)) || (kind != 1 && kind != 2)) return 1;
  memcpy(dst, src, n);
  copies++;
  return 0;
}

int cudaMemcpy2D(void *dst, size_t dpitch, const void *src, size_t spitch, size_t width, size_t height, int kind) {
  /* Only 3, device to device, is used; both regions must lie in device blocks. */
  if (height == 0) return 0;
  if (kind != 3 || width > dpitch || width > spitch) return 1;
  if (kind_of(src, spitch * (height - 1) + width) != DEVICE || kind_of(dst, dpitch * (height - 1) + width) != DEVICE) return 1;
  for (size_t r = 0; r < height; r++) memmove((char *)dst + r * dpitch, (const char *)src + r * spitch, width);
  copies++;
  return 0;
}

int cudaMemset(void *p, int value, size_t n) {
  if (kind_of(p, n) != DEVICE) return 1;
  memset(p, value, n);
  return 0;
}

int cudaDeviceSynchronize(void) { return current_device < 0 ? 100 : 0; }

const char *cudaGetErrorString(int e) {
  switch (e) {
    case 0: return "no error";
    case 1: return "invalid argument";
    case 2: return "out of memory";
    case 100: return "no CUDA-capable device is detected";
    case 101: return "invalid device ordinal";
    default: return "unknown error";
  }
}

/* For the tests. */
int fake_live_blocks(void) { int n = 0; for (int i = 0; i < MAX_BLOCKS; i++) n += blocks[i].p != 0; return n; }
int fake_copies(void) { return copies; }
int fake_device(void) { return current_device; }
