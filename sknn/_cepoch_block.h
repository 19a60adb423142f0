/* One block of mini-batch steps: its buffers, its threads and their meetings.
 *
 * Included by _cepoch_kernel.h after _cepoch_layers.h. train_block copies the
 * weights into padded buffers and panels, starts the threads Block.n_threads
 * asks for (fewer when the first layer has fewer register tiles, or none
 * without pthreads), runs the batches and copies the weights back.
 */

/* One thread's part of the block's mini-batch steps.
 *
 * The first layer, which holds nearly all the work (784 inputs against a
 * hidden layer and 10 outputs on MNIST), is split by columns: thread t
 * computes, activates and updates the hidden units lo..hi of W^1 and b^1 for
 * every row of the batch. Thread 0 alone runs the later layers, the output
 * error and the backward pass down to Delta^1, between two barriers. Every
 * tile's arithmetic is the same whatever the split, so any number of threads
 * gives bit-identical weights. */
static void NAME(run_batches)(NAME(Shared) *sh, int tid)
{
    const Block *c = sh->c;
    NAME(Part) t = {0};
    NAME(thread_columns)(sh->T1, sh->nt, tid, &t.lo, &t.hi);
    t.pitch = sh->pitch0[tid];
    t.W0 = sh->W0[tid];
    t.V0 = sh->V0[tid];
    t.G0 = sh->G0[tid];
    t.rows = sh->rows + tid * sh->m;
    t.s = (REAL)1;
    if (sh->sparse_momentum && c->stop > c->start)
        NAME(scale_columns)(t.V0, c->sizes[0], t.pitch, 0, t.hi - t.lo, sh->rule.mu);
    for (int64_t batch = 0; batch < sh->n_batches; batch++) {
        NAME(first_layer_forward)(sh, &t, batch);
        sync_barrier_wait(&sh->barrier);
        if (tid == 0)
            NAME(later_layers)(sh, &t, batch);
        sync_barrier_wait(&sh->barrier);
        NAME(first_layer_step)(sh, &t, batch);
    }
    if (t.s != (REAL)1)
        NAME(scale_columns)(t.W0, c->sizes[0], t.pitch, 0, t.hi - t.lo, t.s);
}

#ifdef HAVE_THREADS
typedef struct {
    NAME(Shared) *shared;
    int tid;
} NAME(ThreadArgs);

static void *NAME(thread_main)(void *arg)
{
    NAME(ThreadArgs) *t = (NAME(ThreadArgs) *)arg;
    if (sync_gate_wait(&t->shared->barrier) > t->tid)
        NAME(run_batches)(t->shared, t->tid);
    return NULL;
}
#endif

static int NAME(train_block)(const Block *c)
{
    NAME(Shared) *sh = (NAME(Shared) *)calloc(1, sizeof(NAME(Shared)));
    if (sh == NULL)
        return -1;
    const int L = c->n_layers;
    const int64_t m = c->batch_size;
    const int64_t *sizes = c->sizes;
    int64_t *P = sh->P;
    for (int l = 0; l <= L; l++)
        P[l] = (sizes[l] + LANES - 1) / LANES * LANES;
    /* The first layer's rows start on 64-byte lines, so threads that write
     * neighbouring columns of A^1 never share a line. Its loops still run
     * over T1 columns only, so the padding costs memory, not arithmetic. */
    sh->T1 = P[1];
    P[1] = (P[1] * (int64_t)sizeof(REAL) + 63) / 64 * 64 / (int64_t)sizeof(REAL);
    /* threads only where the first layer is hidden, each with a whole tile */
    int nt = c->n_threads < 1 ? 1 : c->n_threads;
    const int64_t n_tiles = (sh->T1 + 4 * LANES - 1) / (4 * LANES);
    if (L < 2)
        nt = 1;
    if (nt > n_tiles)
        nt = (int)n_tiles;
    if (nt > MAX_THREADS)
        nt = MAX_THREADS;
#ifndef HAVE_THREADS
    nt = 1;
#endif
    const int momentum = c->weight_velocities != NULL;
    sh->c = c;
    sh->L = L;
    sh->m = m;
    sh->dropout = c->dropout > 0.0;
    sh->sparse = c->indptr != NULL;
    sh->momentum = momentum;
    sh->p = (REAL)c->dropout;
    sh->keep_scale = (REAL)(1.0 / (1.0 - c->dropout));
    sh->rule = (NAME(Rule)){c->reg, momentum, (REAL)c->rate, (REAL)(1.0 - c->rate),
                            (REAL)c->mu};
    sh->bias_rule = (NAME(Rule)){REG_NONE, momentum, (REAL)0, (REAL)1, (REAL)c->mu};
    sh->lazy = c->lazy_scale;
    /* sparse + momentum: V holds mu v between steps, the step is scattered into
     * it, and one pass over (W, V) adds the penalty, moves W and multiplies V
     * by mu for the next step; sparse + L1 (or L2 not lazy): the step is
     * scattered into G0 and one pass applies it with the penalty */
    sh->sparse_momentum = sh->sparse && momentum;
    sh->dense_pass = sh->sparse && !sh->lazy && !momentum && c->reg != REG_NONE;
    sh->n_batches = (c->stop - c->start) / m;
    for (int l = 1; l < L; l++)
        sh->hidden_total += sizes[l];

#ifdef HAVE_THREADS
    /* start the threads first: the panels are cut for as many as started */
    pthread_t threads[MAX_THREADS];
    NAME(ThreadArgs) args[MAX_THREADS];
    int started = 0;
    sync_gate_init(&sh->barrier);
    for (int t = 1; t < nt; t++) {
        args[t] = (NAME(ThreadArgs)){sh, t};
        if (pthread_create(&threads[t], NULL, NAME(thread_main), &args[t]) != 0)
            break;
        started = t;
    }
    nt = started + 1;
#endif
    sh->nt = nt;

    void *owners[6 * MAX_LAYERS + 3 * MAX_THREADS] = {0};
    int n_owners = 0, failed = 0;
    for (int l = 0; l < L && !failed; l++) {
        if (l > 0) {
            sh->W[l] = NAME(padded_copy)((const REAL *)c->weights[l], sizes[l],
                                         sizes[l + 1], P[l + 1], &owners[n_owners++]);
            failed = !sh->W[l];
        }
        sh->B[l] = NAME(padded_copy)((const REAL *)c->biases[l], 1, sizes[l + 1], P[l + 1],
                                     &owners[n_owners++]);
        if (momentum && l > 0) {
            sh->VW[l] = NAME(padded_copy)((const REAL *)c->weight_velocities[l], sizes[l],
                                          sizes[l + 1], P[l + 1], &owners[n_owners++]);
            failed = failed || !sh->VW[l];
        }
        if (momentum) {
            sh->VB[l] = NAME(padded_copy)((const REAL *)c->bias_velocities[l], 1,
                                          sizes[l + 1], P[l + 1], &owners[n_owners++]);
            failed = failed || !sh->VB[l];
        }
        /* activations, deltas, masks, dropped outputs: one buffer per layer */
        sh->A[l] = NAME(padded_copy)(NULL, 4 * m, P[l + 1], P[l + 1], &owners[n_owners++]);
        failed = failed || !sh->B[l] || !sh->A[l];
        if (!failed) {
            sh->D[l] = sh->A[l] + m * P[l + 1];
            sh->M[l] = sh->D[l] + m * P[l + 1];
            sh->Q[l] = sh->M[l] + m * P[l + 1];
        }
    }
    for (int t = 0; t < nt && !failed; t++) {
        int64_t lo, hi;
        NAME(thread_columns)(sh->T1, nt, t, &lo, &hi);
        const int64_t pitch = ((hi - lo) * (int64_t)sizeof(REAL) + 63) / 64 * 64 /
                              (int64_t)sizeof(REAL);
        sh->pitch0[t] = pitch;
        sh->W0[t] = NAME(panel_copy)((const REAL *)c->weights[0], sizes[0], sizes[1], lo,
                                     hi, pitch, &owners[n_owners++]);
        failed = !sh->W0[t];
        if (momentum && !failed) {
            sh->V0[t] = NAME(panel_copy)((const REAL *)c->weight_velocities[0], sizes[0],
                                         sizes[1], lo, hi, pitch, &owners[n_owners++]);
            failed = !sh->V0[t];
        }
        if (sh->dense_pass && !failed) {
            sh->G0[t] = NAME(panel_copy)(NULL, sizes[0], sizes[1], lo, hi, pitch,
                                         &owners[n_owners++]);
            failed = !sh->G0[t];
        }
    }
    sh->rows = failed ? NULL : (const REAL **)malloc(sizeof(REAL *) * (size_t)(m * nt));
    failed = failed || sh->rows == NULL;

#ifdef HAVE_THREADS
    /* a failed allocation sends the started threads home without work */
    sync_gate_open(&sh->barrier, failed ? -1 : nt);
#endif
    if (!failed)
        NAME(run_batches)(sh, 0);
#ifdef HAVE_THREADS
    for (int t = 1; t <= started; t++)
        pthread_join(threads[t], NULL);
#endif

    if (!failed) {
        for (int t = 0; t < nt; t++) {
            int64_t lo, hi;
            NAME(thread_columns)(sh->T1, nt, t, &lo, &hi);
            NAME(panel_back)((REAL *)c->weights[0], sh->W0[t], sizes[0], sizes[1], lo, hi,
                             sh->pitch0[t]);
            if (momentum)
                NAME(panel_back)((REAL *)c->weight_velocities[0], sh->V0[t], sizes[0],
                                 sizes[1], lo, hi, sh->pitch0[t]);
        }
        for (int l = 0; l < L; l++) {
            if (l > 0)
                NAME(copy_back)((REAL *)c->weights[l], sh->W[l], sizes[l], sizes[l + 1],
                                P[l + 1]);
            NAME(copy_back)((REAL *)c->biases[l], sh->B[l], 1, sizes[l + 1], P[l + 1]);
            if (momentum) {
                if (l > 0)
                    NAME(copy_back)((REAL *)c->weight_velocities[l], sh->VW[l], sizes[l],
                                    sizes[l + 1], P[l + 1]);
                NAME(copy_back)((REAL *)c->bias_velocities[l], sh->VB[l], 1, sizes[l + 1],
                                P[l + 1]);
            }
        }
    }
    for (int i = 0; i < n_owners; i++)
        free(owners[i]);
    free(sh->rows);
    free(sh);
    return failed ? -1 : 0;
}
