/* How the threads of one compiled block meet: a barrier and a starting gate.
 *
 * Included once by _cepoch.c (not per instantiation). Without pthreads
 * (Windows builds), the kernel runs one thread and the barrier does nothing.
 */

/* A barrier for the threads of one block, and the gate that starts them.
 *
 * The threads meet twice per mini-batch, some microseconds apart, so a
 * waiting thread polls (a sleep and a wake would cost about as much as the
 * work between meetings), and every YIELD_EVERY polls offers its core to
 * any thread waiting for one: its partner may be that thread, when another
 * process holds the other core. Forced onto one core, ten epochs of 2,000
 * rows took 0.49 s on two threads that only polled (then yielded or slept
 * after SPIN_LIMIT polls) and 0.07 s with the yields, against 0.06 s on one
 * thread; on two free cores the yields cost nothing measurable (they return
 * at once). After SPIN_LIMIT polls the wait is a long one, and the thread
 * sleeps on the barrier's generation (a futex on Linux; elsewhere it keeps
 * yielding) until the last thread to arrive wakes it. */
typedef struct {
    int n;
#ifdef HAVE_THREADS
    atomic_int waiting, generation, gate, sleepers;
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

/* Give the core up until *word may have changed from `expected`. The
 * sleepers count is sequentially consistent with the generation, so a waker
 * either sees the sleeper or the sleeper's futex sees the new generation. */
static void sleep_while_equal(SyncBarrier *b, atomic_int *word, int expected)
{
#ifdef __linux__
    atomic_fetch_add(&b->sleepers, 1);
    syscall(SYS_futex, (int *)word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
    atomic_fetch_sub(&b->sleepers, 1);
#else
    (void)b;
    (void)word;
    (void)expected;
    sched_yield();
#endif
}

static void wake_sleepers(SyncBarrier *b, atomic_int *word)
{
#ifdef __linux__
    if (atomic_load(&b->sleepers) > 0)
        syscall(SYS_futex, (int *)word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
#else
    (void)b;
    (void)word;
#endif
}

static void sync_barrier_wait(SyncBarrier *b)
{
    if (b->n <= 1)
        return;
    const int generation = atomic_load_explicit(&b->generation, memory_order_acquire);
    if (atomic_fetch_add_explicit(&b->waiting, 1, memory_order_acq_rel) == b->n - 1) {
        atomic_store_explicit(&b->waiting, 0, memory_order_relaxed);
        atomic_fetch_add(&b->generation, 1);
        wake_sleepers(b, &b->generation);
        return;
    }
    for (int poll = 1;
         atomic_load_explicit(&b->generation, memory_order_acquire) == generation; poll++) {
        if (poll % YIELD_EVERY == 0)
            sched_yield();
        else if (poll < SPIN_LIMIT)
            cpu_relax();
        else
            sleep_while_equal(b, &b->generation, generation);
    }
}

static void sync_gate_init(SyncBarrier *b)
{
    b->n = 1;
    atomic_init(&b->waiting, 0);
    atomic_init(&b->generation, 0);
    atomic_init(&b->gate, 0);
    atomic_init(&b->sleepers, 0);
}

/* Let the started threads in: n of them take part, the caller included. */
static void sync_gate_open(SyncBarrier *b, int n)
{
    b->n = n;
    atomic_store(&b->gate, n);
    wake_sleepers(b, &b->gate);
}

/* Wait for the gate to open; returns the number of threads taking part. */
static int sync_gate_wait(SyncBarrier *b)
{
    int n, poll = 0;
    while ((n = atomic_load_explicit(&b->gate, memory_order_acquire)) == 0)
        if (poll++ < SPIN_LIMIT)
            cpu_relax();
        else
            sleep_while_equal(b, &b->gate, 0);
    return n;
}
#else
static void sync_barrier_wait(SyncBarrier *b)
{
    (void)b;
}
#endif
