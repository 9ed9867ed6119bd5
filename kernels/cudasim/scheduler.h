// scheduler.h -- the machinery under cudasim.h: fibers, the seeded random scheduler,
// barriers, warp collectives, shared-memory bookkeeping and the kernel entries that unpack
// launch arguments.  Included by cudasim.h only; see docs/cudasim.md.
#pragma once

// ---- the simulator's state -------------------------------------------------------------------
namespace cudasim {

enum : int { READY = 0, RUNNING, AT_BARRIER, AT_WARP, DONE };
enum : int { W_SYNC = 0, W_SHFL, W_BALLOT, W_ANY, W_ALL, W_MATCH,
             W_RADD, W_RMIN, W_RMAX, W_RAND, W_ROR, W_RXOR };
enum : int { SH_IDX = 0, SH_UP, SH_DOWN, SH_XOR };

struct Thread {
  uint3 idx;
  unsigned lane, warp, linear;
  int state;
  void* sp;                 // saved stack pointer while switched out
  char* stack;              // owned stack (nullptr when not started / finished)
  void* fake_stack;         // ASan bookkeeping
  // warp collective in progress
  unsigned wmask;
  int wop, wmode, wc;
  unsigned warg;
  unsigned long long wval, wres;
  int signed_val;           // for __reduce_min/max: compare as signed
};

typedef void (*Body)(const void* ctx);

static Thread* g_cur = nullptr;
static uint3 g_blockIdx;
static dim3 g_blockDim, g_gridDim;
static Thread* g_threads = nullptr;
static unsigned g_nthreads = 0, g_threads_cap = 0;
static unsigned* g_ready = nullptr;
static unsigned g_nready = 0;
static unsigned g_live = 0, g_arrived = 0;
static unsigned g_warp_waiting[32];  // per warp: lanes waiting in a collective
static unsigned long long g_block_epoch = 0;  // counts blocks run: see poison_shared
static int g_bar_count = 0, g_bar_result = 0, g_bar_total = 0;
static unsigned long long g_rng = 0;
static bool g_ordered = false;
static char* g_dyn_shared = nullptr;
static size_t g_dyn_size = 0;
static Body g_body = nullptr;
static const void* g_ctx = nullptr;
static void* g_sched_sp = nullptr;
static char g_error[2048];
static bool g_failed = false;
static const void* g_sched_stack_bottom = nullptr;  // ASan
static size_t g_sched_stack_size = 0;
static void* g_sched_fake = nullptr;

#if defined(__SANITIZE_ADDRESS__)
#define CUDASIM_ASAN 1
static const size_t kStackSize = 512 * 1024;
#else
#define CUDASIM_ASAN 0
static const size_t kStackSize = 64 * 1024;
#endif
}  // namespace cudasim

#if CUDASIM_ASAN
extern "C" void __sanitizer_start_switch_fiber(void** fake_stack_save, const void* bottom,
                                               size_t size);
extern "C" void __sanitizer_finish_switch_fiber(void* fake_stack_save, const void** bottom_old,
                                                size_t* size_old);
extern "C" void __asan_unpoison_memory_region(void const volatile* addr, size_t size);
#endif

// ---- context switch ----------------------------------------------------------------------------
// cudasim_ctx_switch(&save, to): push the callee-saved registers, store the stack pointer in
// *save, load `to`, pop and return into the other context.  Nothing else is saved: a switch
// only ever happens at a function call, where everything else is caller-saved anyway.
#if CUDASIM_ASM_SWITCH
extern "C" void cudasim_ctx_switch(void** save_sp, void* new_sp);
asm(R"(
    .text
    .p2align 4
    .type cudasim_ctx_switch, @function
cudasim_ctx_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size cudasim_ctx_switch, .-cudasim_ctx_switch
)");
#endif

namespace cudasim {

static void fiber_entry();

// ---- stacks: a pool of mmap'ed stacks with a guard page, reused across threads and launches --
static char** g_stack_pool = nullptr;
static size_t g_pool_n = 0, g_pool_cap = 0;
static size_t g_stack_size = 0;

static char* get_stack() {
  if (!g_stack_size) {
    const char* e = getenv("MINITORCH_CUDASIM_STACK_KB");
    g_stack_size = (e && atoi(e) > 0) ? (size_t)atoi(e) * 1024 : kStackSize;
  }
  if (g_pool_n) {
    char* s = g_stack_pool[--g_pool_n];
#if CUDASIM_ASAN
    __asan_unpoison_memory_region(s, g_stack_size);
#endif
    return s;
  }
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  char* m = (char*)mmap(nullptr, g_stack_size + page, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == (char*)MAP_FAILED) {
    fprintf(stderr, "cudasim: out of memory for fiber stacks\n");
    abort();
  }
  mprotect(m, page, PROT_NONE);  // guard page: a stack overflow faults instead of corrupting
  return m + page;
}
static void put_stack(char* s) {
  if (g_pool_n == g_pool_cap) {
    g_pool_cap = g_pool_cap ? 2 * g_pool_cap : 64;
    g_stack_pool = (char**)realloc(g_stack_pool, g_pool_cap * sizeof(char*));
  }
  g_stack_pool[g_pool_n++] = s;
}

#if CUDASIM_ASM_SWITCH
static void init_fiber(Thread* t) {
  // Stacks sit at a 4 KiB-aligned stride, so their tops would all fall in the same L1 cache
  // set and evict each other at every switch: start each one at its own 64-byte "colour".
  uintptr_t color = (((uintptr_t)t->stack >> 12) & 63) * 64;
  uintptr_t top = ((uintptr_t)(t->stack + g_stack_size) - color) & ~(uintptr_t)15;
  void** sp = (void**)top;
  *--sp = nullptr;                      // fiber_entry's (never used) return address
  *--sp = (void*)&fiber_entry;          // where cudasim_ctx_switch's `ret` goes
  for (int i = 0; i < 6; i++) *--sp = nullptr;  // rbp rbx r12 r13 r14 r15
  t->sp = sp;
}
static __attribute__((noinline)) void raw_switch(void** save, void* to) {
  cudasim_ctx_switch(save, to);
  asm volatile("" ::: "memory");
}
#else
static ucontext_t g_sched_uc;
struct UcThread { ucontext_t uc; };
static UcThread* g_ucs = nullptr;
static void init_fiber(Thread* t) {
  ucontext_t* uc = &g_ucs[t->linear].uc;
  getcontext(uc);
  uc->uc_stack.ss_sp = t->stack;
  uc->uc_stack.ss_size = g_stack_size;
  uc->uc_link = nullptr;
  makecontext(uc, (void (*)())fiber_entry, 0);
  t->sp = uc;
}
static __attribute__((noinline)) void raw_switch(void** save, void* to) {
  // save points at either g_sched_sp or a Thread's sp: map both to ucontexts
  ucontext_t* from = (save == &g_sched_sp) ? &g_sched_uc : &g_ucs[g_cur->linear].uc;
  *save = from;
  swapcontext(from, (ucontext_t*)to);
}
#endif

// scheduler -> thread t
static void switch_to(Thread* t) {
  g_cur = t;
  t->state = RUNNING;
#if CUDASIM_ASAN
  __sanitizer_start_switch_fiber(&g_sched_fake, t->stack, g_stack_size);
#endif
  raw_switch(&g_sched_sp, t->sp);
#if CUDASIM_ASAN
  __sanitizer_finish_switch_fiber(g_sched_fake, nullptr, nullptr);
#endif
}

// current thread -> scheduler (the thread has set its state)
static void yield_to_scheduler(bool exiting) {
  Thread* t = g_cur;
#if CUDASIM_ASAN
  __sanitizer_start_switch_fiber(exiting ? nullptr : &t->fake_stack, g_sched_stack_bottom,
                                 g_sched_stack_size);
#endif
  (void)exiting;
  raw_switch(&t->sp, g_sched_sp);
#if CUDASIM_ASAN
  __sanitizer_finish_switch_fiber(t->fake_stack, &g_sched_stack_bottom, &g_sched_stack_size);
#endif
}

static unsigned long long rng_next() {  // xorshift64*
  g_rng ^= g_rng >> 12; g_rng ^= g_rng << 25; g_rng ^= g_rng >> 27;
  return g_rng * 2685821657736338717ULL;
}
static unsigned long long mix64(unsigned long long x) {  // splitmix64 finalizer
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

static void make_ready(Thread* t) {
  t->state = READY;
  g_ready[g_nready++] = t->linear;
}

static const char* fmt_thread(const Thread* t) {
  static char buf[4][96];
  static int k = 0;
  char* b = buf[k++ & 3];
  snprintf(b, 96, "thread (%u,%u,%u) of block (%u,%u,%u)", t->idx.x, t->idx.y, t->idx.z,
           g_blockIdx.x, g_blockIdx.y, g_blockIdx.z);
  return b;
}

// Stop the launch with a message: the scheduler sees g_failed and abandons the block.
static __attribute__((noinline)) void fail(const char* msg) {
  if (!g_failed) {
    g_failed = true;
    snprintf(g_error, sizeof g_error, "%s", msg);
  }
  g_cur->state = DONE;
  yield_to_scheduler(false);
  __builtin_unreachable();
}

// ---- barrier -----------------------------------------------------------------------------------
static void release_barrier() {
  g_bar_result = g_bar_count;
  g_bar_total = (int)g_arrived;
  g_bar_count = 0;
  g_arrived = 0;
  // (descending, so that the ordered mode, which pops the last ready thread, goes ascending)
  for (unsigned i = g_nthreads; i-- > 0;)
    if (g_threads[i].state == AT_BARRIER) make_ready(&g_threads[i]);
}

static __attribute__((noinline)) int syncthreads_impl(int pred) {
  Thread* t = g_cur;
  t->state = AT_BARRIER;
  g_bar_count += pred != 0;
  if (++g_arrived == g_live) release_barrier();
  yield_to_scheduler(false);
  return g_bar_result;
}

// ---- warp collectives --------------------------------------------------------------------------
// A lane that calls a *_sync collective waits until every lane of its mask (that exists and has
// not exited) has called one with the same mask; then all results are computed at once.
static unsigned warp_lanes_alive(unsigned w) {
  unsigned m = 0;
  for (unsigned l = 0; l < 32; l++) {
    unsigned i = w * 32 + l;
    if (i < g_nthreads && g_threads[i].state != DONE) m |= 1u << l;
  }
  return m;
}

static unsigned long long shfl_src(const Thread* t, unsigned participants, const Thread* base) {
  // PTX shfl.sync: c = ((32 - width) << 8) | clamp
  unsigned lane = t->lane, b = t->warg;
  unsigned segmask = (unsigned)(t->wc >> 8) & 31u, cval = (unsigned)t->wc & 31u;
  unsigned minLane = lane & segmask, maxLane = minLane | (cval & ~segmask);
  unsigned j;
  bool ok;
  switch (t->wmode) {
    case SH_UP: j = lane - b; ok = (int)j >= (int)maxLane; break;
    case SH_DOWN: j = lane + b; ok = j <= maxLane; break;
    case SH_XOR: j = lane ^ b; ok = j <= maxLane; break;
    default: j = minLane | (b & ~segmask & 31u); ok = j <= maxLane; break;
  }
  if (!ok || j > 31 || !(participants & (1u << j))) return t->wval;  // own value
  return base[j].wval;
}

static bool try_complete_warp(unsigned w, unsigned mask) {
  Thread* base = g_threads + w * 32;
  unsigned parts = 0;
  int op = -1;
  for (unsigned l = 0; l < 32; l++) {
    if (!(mask & (1u << l))) continue;
    unsigned i = w * 32 + l;
    if (i >= g_nthreads || base[l].state == DONE) continue;  // absent or exited lane
    if (base[l].state != AT_WARP || base[l].wmask != mask) return false;
    if (op < 0) op = base[l].wop;
    else if (op != base[l].wop) {
      static char msg[512];
      snprintf(msg, sizeof msg, "cudasim: lanes of one warp met in different warp collectives "
               "with the same mask 0x%08x (%s and %s): undefined behaviour in CUDA",
               mask, fmt_thread(&base[l]), fmt_thread(g_cur));
      fail(msg);
    }
    parts |= 1u << l;
  }
  if (!parts) return false;
  unsigned long long acc = 0, ballot = 0;
  long long sacc = 0;
  bool first = true;
  for (unsigned l = 0; l < 32; l++) {
    if (!(parts & (1u << l))) continue;
    Thread* t = &base[l];
    if (t->wval) ballot |= 1ull << l;
    switch (op) {
      case W_RADD: acc += (unsigned)t->wval; break;
      case W_RAND: acc = first ? (unsigned)t->wval : (acc & (unsigned)t->wval); break;
      case W_ROR: acc |= (unsigned)t->wval; break;
      case W_RXOR: acc ^= (unsigned)t->wval; break;
      case W_RMIN:
      case W_RMAX: {
        unsigned u = (unsigned)t->wval;
        long long v = t->signed_val ? (long long)(int)u : (long long)u;
        if (first || (op == W_RMIN ? v < sacc : v > sacc)) sacc = v;
        break;
      }
      default: break;
    }
    first = false;
  }
  for (unsigned l = 0; l < 32; l++) {
    if (!(parts & (1u << l))) continue;
    Thread* t = &base[l];
    switch (op) {
      case W_SHFL: t->wres = shfl_src(t, parts, base); break;
      case W_BALLOT: t->wres = ballot; break;
      case W_ANY: t->wres = ballot != 0; break;
      case W_ALL: t->wres = ballot == parts; break;
      case W_MATCH: {
        unsigned m = 0;
        for (unsigned k = 0; k < 32; k++)
          if ((parts & (1u << k)) && base[k].wval == t->wval) m |= 1u << k;
        t->wres = m;
        break;
      }
      case W_RADD: case W_RAND: case W_ROR: case W_RXOR: t->wres = (unsigned)acc; break;
      case W_RMIN: case W_RMAX: t->wres = (unsigned)(long long)sacc; break;
      default: t->wres = parts; break;
    }
  }
  for (unsigned l = 32; l-- > 0;)
    if (parts & (1u << l)) make_ready(&base[l]);
  g_warp_waiting[w] -= __builtin_popcount(parts);
  return true;
}

static __attribute__((noinline)) unsigned long long warp_collective(
    unsigned mask, int op, unsigned long long val, int mode = 0, unsigned arg = 0, int c = 0,
    int signed_val = 0) {
  Thread* t = g_cur;
  if (!(mask & (1u << t->lane))) {
    static char msg[256];
    snprintf(msg, sizeof msg, "cudasim: %s called a *_sync warp collective with mask 0x%08x "
             "that does not include its own lane %u", fmt_thread(t), mask, t->lane);
    fail(msg);
  }
  t->wmask = mask; t->wop = op; t->wval = val; t->wmode = mode; t->warg = arg; t->wc = c;
  t->signed_val = signed_val;
  t->state = AT_WARP;
  g_warp_waiting[t->warp]++;
  try_complete_warp(t->warp, mask);
  yield_to_scheduler(false);  // even when complete: the next runner is drawn at random
  return t->wres;
}

// A lane exited: barriers and warp collectives no longer wait for it.
static void on_thread_exit(Thread* t) {
  g_live--;
  if (g_arrived && g_arrived == g_live) release_barrier();
  unsigned w = t->warp;
  if (!g_warp_waiting[w]) return;
  for (unsigned l = 0; l < 32; l++) {
    unsigned i = w * 32 + l;
    if (i >= g_nthreads) break;
    if (g_threads[i].state == AT_WARP) try_complete_warp(w, g_threads[i].wmask);
  }
}

static void fiber_entry() {
#if CUDASIM_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &g_sched_stack_bottom, &g_sched_stack_size);
#endif
  g_body(g_ctx);
  Thread* t = g_cur;
  t->state = DONE;
  put_stack(t->stack);  // still running on it until the switch below; reused only after
  t->stack = nullptr;
  on_thread_exit(t);
  yield_to_scheduler(true);
  __builtin_unreachable();
}

static void describe_deadlock() {
  unsigned nbar = 0, nwarp = 0, ndone = 0;
  const Thread *ebar = nullptr, *ewarp = nullptr;
  for (unsigned i = 0; i < g_nthreads; i++) {
    const Thread* t = &g_threads[i];
    if (t->state == AT_BARRIER) { nbar++; if (!ebar) ebar = t; }
    else if (t->state == AT_WARP) { nwarp++; if (!ewarp) ewarp = t; }
    else if (t->state == DONE) ndone++;
  }
  int n = snprintf(g_error, sizeof g_error, "cudasim: deadlock in block (%u,%u,%u): ",
                   g_blockIdx.x, g_blockIdx.y, g_blockIdx.z);
  if (nbar)
    n += snprintf(g_error + n, sizeof g_error - n, "%u thread(s) wait at __syncthreads (e.g. "
                  "thread (%u,%u,%u)); ", nbar, ebar->idx.x, ebar->idx.y, ebar->idx.z);
  if (nwarp)
    n += snprintf(g_error + n, sizeof g_error - n, "%u thread(s) wait in a warp collective (e.g. "
                  "thread (%u,%u,%u) with mask 0x%08x, lanes alive in its warp 0x%08x); ", nwarp,
                  ewarp->idx.x, ewarp->idx.y, ewarp->idx.z, ewarp->wmask,
                  warp_lanes_alive(ewarp->warp));
  snprintf(g_error + n, sizeof g_error - n, "%u exited. A barrier or *_sync mask that some "
           "threads never reach (divergent __syncthreads, mask naming lanes on another path)?",
           ndone);
  g_failed = true;
}

static void run_block(unsigned long long lin) {
  unsigned gx = g_gridDim.x, gy = g_gridDim.y;
  g_blockIdx.x = (unsigned)(lin % gx);
  g_blockIdx.y = (unsigned)((lin / gx) % gy);
  g_blockIdx.z = (unsigned)(lin / ((unsigned long long)gx * gy));
  unsigned n = g_nthreads, i = 0;
  for (unsigned z = 0; z < g_blockDim.z; z++)
    for (unsigned y = 0; y < g_blockDim.y; y++)
      for (unsigned x = 0; x < g_blockDim.x; x++, i++) {
        Thread* t = &g_threads[i];
        t->idx.x = x; t->idx.y = y; t->idx.z = z;
        t->linear = i; t->lane = i & 31; t->warp = i >> 5;
        t->state = READY; t->stack = nullptr; t->fake_stack = nullptr;
        g_ready[i] = n - 1 - i;
      }
  memset(g_warp_waiting, 0, sizeof g_warp_waiting);
  g_nready = n; g_live = n; g_arrived = 0; g_bar_count = 0;
  g_block_epoch++;
  if (g_dyn_size) memset(g_dyn_shared, 0xff, g_dyn_size);  // shared memory starts as garbage
  while (g_nready) {
    unsigned r = g_ordered ? g_nready - 1
                           : (unsigned)(((rng_next() >> 32) * (unsigned long long)g_nready) >> 32);
    Thread* t = &g_threads[g_ready[r]];
    g_ready[r] = g_ready[--g_nready];
    if (!t->stack) { t->stack = get_stack(); init_fiber(t); }
    switch_to(t);
    if (g_failed) break;
  }
  if (!g_failed && g_live) describe_deadlock();
  if (g_failed)  // abandon the suspended fibers
    for (unsigned i = 0; i < n; i++)
      if (g_threads[i].stack) { put_stack(g_threads[i].stack); g_threads[i].stack = nullptr; }
}

static unsigned long long gcd64(unsigned long long a, unsigned long long b) {
  while (b) { unsigned long long t = a % b; a = b; b = t; }
  return a;
}

// Run a whole grid.  Returns 0, or 1 with the message in g_error.
static int run_grid(Body body, const void* ctx, unsigned gx, unsigned gy, unsigned gz,
                    unsigned bx, unsigned by, unsigned bz, unsigned long long shared_mem,
                    unsigned long long seed, int ordered) {
  g_failed = false;
  g_error[0] = 0;
  g_body = body; g_ctx = ctx;
  g_gridDim = dim3(gx, gy, gz);
  g_blockDim = dim3(bx, by, bz);
  g_nthreads = bx * by * bz;
  g_ordered = ordered != 0;
  if (g_nthreads > g_threads_cap) {
    free(g_threads); free(g_ready);
    g_threads = (Thread*)calloc(g_nthreads, sizeof(Thread));
    g_ready = (unsigned*)calloc(g_nthreads, sizeof(unsigned));
#if !CUDASIM_ASM_SWITCH
    free(g_ucs);
    g_ucs = (UcThread*)calloc(g_nthreads, sizeof(UcThread));
#endif
    g_threads_cap = g_nthreads;
  }
  g_dyn_size = shared_mem;
  g_dyn_shared = (char*)malloc(shared_mem ? shared_mem : 1);
  unsigned long long nblocks = (unsigned long long)gx * gy * gz;
  // blocks in a random order too: lin = (a*i + c) mod nblocks with gcd(a, nblocks) = 1
  unsigned long long a = 1, c = 0;
  if (!g_ordered && nblocks > 1) {
    g_rng = mix64(seed ^ 0x5bd1e995ULL) | 1;
    c = rng_next() % nblocks;
    do { a = 1 + rng_next() % (nblocks - 1); } while (gcd64(a, nblocks) != 1);
  }
  for (unsigned long long i = 0; i < nblocks && !g_failed; i++) {
    unsigned long long lin = (unsigned long long)(((unsigned __int128)a * i + c) % nblocks);
    g_rng = mix64(seed * 0x9E3779B97F4A7C15ULL + lin) | 1;
    run_block(lin);
  }
  free(g_dyn_shared);
  g_dyn_shared = nullptr;
  g_cur = nullptr;
  fflush(stdout);
  return g_failed ? 1 : 0;
}

static inline void* dyn_shared() { return g_dyn_shared; }

// Static __shared__ arrays are `static` variables: fill one with 0xff bytes (NaN for floats,
// -1 for ints) the first time each block reaches its declaration, as a GPU gives no
// guarantee about what shared memory holds when a block starts.  `epoch` is a static the
// rewrite declares next to the array.
static __forceinline__ void poison_shared(void* p, size_t n, unsigned long long* epoch) {
  if (*epoch != g_block_epoch) {
    *epoch = g_block_epoch;
    memset(p, 0xff, n);
  }
}

static __attribute__((noinline)) void device_assert_fail(const char* expr, const char* file,
                                                         int line) {
  static char msg[1024];
  snprintf(msg, sizeof msg, "cudasim: device-side assert triggered: %s:%d: Assertion `%s` failed "
           "(%s)", file, line, expr, fmt_thread(g_cur));
  fail(msg);
}

static __attribute__((noinline)) void yield_now() {
  make_ready(g_cur);
  yield_to_scheduler(false);
}

// ---- kernel entries: unpack the argument slots by the kernel's declared parameter types -------
template <bool B, class T = void> struct enable_if {};
template <class T> struct enable_if<true, T> { typedef T type; };
template <class T> struct rm_cv { typedef T type; };
template <class T> struct rm_cv<const T> { typedef T type; };
template <class T> struct rm_cv<volatile T> { typedef T type; };
template <class T> struct rm_cv<const volatile T> { typedef T type; };

// Type codes the Python side checks arguments against: b1 i1 u1 i2 u2 i4 u4 i8 u8 f4 f8,
// 'p' + code for pointers (pv: void*, p?: pointer to a struct / vector type), '?' otherwise.
template <class T> struct Code { static const char* get() { return "?"; } };
#define CUDASIM_CODE(T, s) template <> struct Code<T> { static const char* get() { return s; } };
CUDASIM_CODE(bool, "b1") CUDASIM_CODE(char, "i1") CUDASIM_CODE(signed char, "i1")
CUDASIM_CODE(unsigned char, "u1") CUDASIM_CODE(short, "i2") CUDASIM_CODE(unsigned short, "u2")
CUDASIM_CODE(int, "i4") CUDASIM_CODE(unsigned int, "u4") CUDASIM_CODE(long, "i8")
CUDASIM_CODE(unsigned long, "u8") CUDASIM_CODE(long long, "i8")
CUDASIM_CODE(unsigned long long, "u8") CUDASIM_CODE(float, "f4") CUDASIM_CODE(double, "f8")
CUDASIM_CODE(void, "v")
#undef CUDASIM_CODE
template <class T> struct Code<T*> {
  static const char* get() {
    static char b[8];
    const char* c = Code<typename rm_cv<T>::type>::get();
    snprintf(b, sizeof b, "p%s", c);
    return b;
  }
};

template <class T> static inline T load_arg(const unsigned long long* p) {
  T v;
  memcpy(&v, p, sizeof(T));
  return v;
}
template <unsigned... I> struct Seq {};
template <unsigned N, unsigned... I> struct MakeSeq : MakeSeq<N - 1, N - 1, I...> {};
template <unsigned... I> struct MakeSeq<0, I...> { typedef Seq<I...> type; };

struct KernelEntry {
  const char* name;
  int (*launch)(const unsigned long long* args, unsigned gx, unsigned gy, unsigned gz,
                unsigned bx, unsigned by, unsigned bz, unsigned long long shared_mem,
                unsigned long long seed, int ordered);
  const char* (*signature)();
  int nargs;
};

template <auto F> struct Entry;
template <typename... A, void (*F)(A...)> struct Entry<F> {
  template <unsigned... I>
  static __forceinline__ void call(const unsigned long long* a, Seq<I...>) {
    F(load_arg<A>(a + I)...);
  }
  static void body(const void* ctx) {
    call((const unsigned long long*)ctx, typename MakeSeq<sizeof...(A)>::type());
  }
  static int launch(const unsigned long long* args, unsigned gx, unsigned gy, unsigned gz,
                    unsigned bx, unsigned by, unsigned bz, unsigned long long shared_mem,
                    unsigned long long seed, int ordered) {
    return run_grid(&body, args, gx, gy, gz, bx, by, bz, shared_mem, seed, ordered);
  }
  static const char* signature() {
    static char buf[1024];
    buf[0] = 0;
    const char* codes[] = {Code<A>::get()..., nullptr};
    for (unsigned i = 0; i + 1 < sizeof(codes) / sizeof(codes[0]); i++) {
      if (i) strncat(buf, ",", sizeof buf - strlen(buf) - 1);
      strncat(buf, codes[i], sizeof buf - strlen(buf) - 1);
    }
    return buf;
  }
  static constexpr int nargs = sizeof...(A);
};

}  // namespace cudasim

