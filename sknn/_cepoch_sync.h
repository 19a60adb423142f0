/* How the threads of one compiled block meet: a barrier and a starting gate.
 *
 * Included once by _cepoch.c (not per instantiation). Without pthreads
 * (Windows builds), the kernel runs one thread and the barrier does nothing.
 */

/* A barrier for the threads of one block, and the gate that starts them.
 *
 * The threads meet twice per mini-batch, some microseconds apart, so a
 * waiting thread polls first (a futex sleep and wake would cost about as much
 * as the work between meetings); after SPIN_LIMIT polls it yields its core
 * on every poll, so a thread whose partner was descheduled (another process
 * on the core) does not burn the time the partner needs. */
typedef struct {
    int n;
#ifdef HAVE_THREADS
    atomic_int waiting, generation, gate;
#endif
} SyncBarrier;

#ifdef HAVE_THREADS
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static void sync_barrier_wait(SyncBarrier *b)
{
    if (b->n <= 1)
        return;
    const int generation = atomic_load_explicit(&b->generation, memory_order_acquire);
    if (atomic_fetch_add_explicit(&b->waiting, 1, memory_order_acq_rel) == b->n - 1) {
        atomic_store_explicit(&b->waiting, 0, memory_order_relaxed);
        atomic_fetch_add_explicit(&b->generation, 1, memory_order_release);
        return;
    }
    for (int poll = 0;
         atomic_load_explicit(&b->generation, memory_order_acquire) == generation; poll++) {
        if (poll < SPIN_LIMIT)
            cpu_relax();
        else
            sched_yield();
    }
}

static void sync_gate_init(SyncBarrier *b)
{
    b->n = 1;
    atomic_init(&b->waiting, 0);
    atomic_init(&b->generation, 0);
    atomic_init(&b->gate, 0);
}

/* Let the started threads in: n of them take part, the caller included. */
static void sync_gate_open(SyncBarrier *b, int n)
{
    b->n = n;
    atomic_store_explicit(&b->gate, n, memory_order_release);
}

/* Wait for the gate to open; returns the number of threads taking part. */
static int sync_gate_wait(SyncBarrier *b)
{
    int n, poll = 0;
    while ((n = atomic_load_explicit(&b->gate, memory_order_acquire)) == 0)
        if (poll++ < SPIN_LIMIT)
            cpu_relax();
        else
            sched_yield();
    return n;
}
#else
static void sync_barrier_wait(SyncBarrier *b)
{
    (void)b;
}
#endif
