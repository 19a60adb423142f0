/* The steps of one mini-batch, layer by layer, for one thread of a block.
 *
 * Included by _cepoch_kernel.h, with its REAL, VEC, LANES and NAME. A block's
 * buffers (NAME(Shared)) are padded copies of the weights and one batch's
 * activations; the first layer's weights are cut into one panel per thread
 * (its columns of every row, contiguous), so no cache line or prefetched
 * neighbour is written by two threads. Each thread runs the first layer's
 * forward pass and step for its columns; thread 0 runs the later layers in
 * between (see run_batches in _cepoch_block.h).
 */

static REAL *NAME(padded_copy)(const REAL *src, int64_t rows, int64_t cols, int64_t stride,
                               void **owner)
{
    *owner = malloc((size_t)(rows * stride) * sizeof(REAL) + 64);
    if (*owner == NULL)
        return NULL;
    REAL *dst = (REAL *)(((uintptr_t)*owner + 63) & ~(uintptr_t)63);
    memset(dst, 0, (size_t)(rows * stride) * sizeof(REAL));
    if (src)
        for (int64_t r = 0; r < rows; r++)
            memcpy(dst + r * stride, src + r * cols, (size_t)cols * sizeof(REAL));
    return dst;
}

static void NAME(copy_back)(REAL *dst, const REAL *src, int64_t rows, int64_t cols,
                            int64_t stride)
{
    for (int64_t r = 0; r < rows; r++)
        memcpy(dst + r * cols, src + r * stride, (size_t)cols * sizeof(REAL));
}

/* Thread tid's columns lo..hi of the first layer's T1, in whole register
 * tiles (4 vectors): the compiler may contract a tile's multiply-adds
 * differently for each tile width, so a split inside a tile could change
 * roundings. */
INLINE void NAME(thread_columns)(int64_t T1, int nt, int tid, int64_t *lo, int64_t *hi)
{
    const int64_t tile = 4 * LANES, n_tiles = (T1 + tile - 1) / tile;
    const int64_t first = n_tiles * tid / nt * tile, end = n_tiles * (tid + 1) / nt * tile;
    *lo = first < T1 ? first : T1;
    *hi = end < T1 ? end : T1;
}

/* A panel of columns lo..hi of a rows x cols matrix (all zeros without src),
 * each row `pitch` long, 64-byte aligned. */
static REAL *NAME(panel_copy)(const REAL *src, int64_t rows, int64_t cols, int64_t lo,
                              int64_t hi, int64_t pitch, void **owner)
{
    *owner = malloc((size_t)(rows * pitch) * sizeof(REAL) + 64);
    if (*owner == NULL)
        return NULL;
    REAL *dst = (REAL *)(((uintptr_t)*owner + 63) & ~(uintptr_t)63);
    memset(dst, 0, (size_t)(rows * pitch) * sizeof(REAL));
    const int64_t n = (hi < cols ? hi : cols) - lo;
    if (src && n > 0)
        for (int64_t r = 0; r < rows; r++)
            memcpy(dst + r * pitch, src + r * cols + lo, (size_t)n * sizeof(REAL));
    return dst;
}

static void NAME(panel_back)(REAL *dst, const REAL *panel, int64_t rows, int64_t cols,
                             int64_t lo, int64_t hi, int64_t pitch)
{
    const int64_t n = (hi < cols ? hi : cols) - lo;
    if (n > 0)
        for (int64_t r = 0; r < rows; r++)
            memcpy(dst + r * cols + lo, panel + r * pitch, (size_t)n * sizeof(REAL));
}

/* Everything the threads of one block share; each thread owns a range of the
 * first layer's columns (see run_batches). */
typedef struct {
    const Block *c;
    int L, nt, dropout, sparse, momentum, lazy, sparse_momentum, dense_pass;
    int64_t m, n_batches, hidden_total;
    int64_t P[MAX_LAYERS + 1]; /* padded widths: each row's pitch */
    int64_t T1;                /* the first layer's width in whole vectors */
    REAL p, keep_scale;
    NAME(Rule) rule, bias_rule;
    REAL *W[MAX_LAYERS], *B[MAX_LAYERS], *VW[MAX_LAYERS], *VB[MAX_LAYERS];
    REAL *A[MAX_LAYERS], *D[MAX_LAYERS], *M[MAX_LAYERS], *Q[MAX_LAYERS];
    /* W^1 (its velocities, its scattered step) in one panel per thread: the
     * thread's columns of every row, contiguous, so no cache line or
     * prefetched neighbour is written by two threads */
    REAL *W0[MAX_THREADS], *V0[MAX_THREADS], *G0[MAX_THREADS];
    int64_t pitch0[MAX_THREADS];
    const REAL **rows; /* m row pointers per thread */
    SyncBarrier barrier;
} NAME(Shared);

/* Rows k of W^1 (n_in0 of them, `stride` wide) times s, columns lo..hi only. */
INLINE void NAME(scale_columns)(REAL *W, int64_t n_rows, int64_t stride, int64_t lo,
                                int64_t hi, REAL s)
{
    for (int64_t k = 0; k < n_rows; k++)
        for (int64_t e = lo; e < hi; e++)
            W[k * stride + e] *= s;
}

/* One thread's share of a block: its columns lo..hi of the first layer. */
typedef struct {
    int64_t lo, hi, pitch;
    REAL *W0, *V0, *G0; /* its panels of W^1, the velocities, the step */
    const REAL **rows;  /* m row pointers of its own */
    REAL s;             /* W^1 = s V, with V in the panel, when lazy */
} NAME(Part);

/* Z^1 = X W^1 + b^1 and A^1 = f(Z^1), with dropout, for the thread's columns. */
static void NAME(first_layer_forward)(const NAME(Shared) *sh, NAME(Part) *t, int64_t batch)
{
    const Block *c = sh->c;
    const int L = sh->L;
    const int64_t m = sh->m, n_batches = sh->n_batches, *sizes = c->sizes, n_in0 = sizes[0];
    const int dropout = sh->dropout, sparse = sh->sparse;
    const REAL p = sh->p, keep_scale = sh->keep_scale, s = t->s;
    REAL *const *B = sh->B, *const *A = sh->A, *const *M = sh->M, *const *Q = sh->Q;
    const REAL *X = (const REAL *)c->X, *Xdata = (const REAL *)c->data;
    const int64_t lo = t->lo, hi = t->hi, pitch = t->pitch, stride0 = sh->P[1];
    const REAL *W0 = t->W0;
    const REAL **rows = t->rows;
    const int64_t *order = c->order + c->start + batch * m;
    const REAL *uniforms = (const REAL *)c->uniforms;
    const REAL *u = dropout ? uniforms + batch * m * sh->hidden_total : NULL;

    /* forward, first layer, this thread's columns */
    if (!sparse) {
        for (int64_t i = 0; i < m; i++)
            rows[i] = X + order[i] * n_in0;
        NAME(forward_dense)(rows, m, W0, B[0] + lo, A[0] + lo, n_in0, pitch, stride0,
                            hi - lo, (REAL)1);
    } else {
        if (batch + 1 < n_batches)
            for (int64_t i = 0; i < m; i++) {
                const int64_t next = order[m + i];
                __builtin_prefetch(c->indices + c->indptr[next]);
                __builtin_prefetch(Xdata + c->indptr[next]);
            }
        for (int64_t i = 0; i < m; i++) {
            const int64_t row = order[i], first = c->indptr[row];
            const int64_t nnz = c->indptr[row + 1] - first;
            for (int64_t col = lo; col < hi; col += 4 * LANES) {
                const int nc = (int)((hi - col) / LANES < 4 ? (hi - col) / LANES : 4);
#define CALL(NC)                                                                           \
    NAME(forward_sparse_tile)(c->indices + first, Xdata + first, nnz, W0 + (col - lo),    \
                              B[0] + col, A[0] + i * stride0 + col, pitch, s, NC)
                DISPATCH_NC(CALL, nc)
#undef CALL
            }
        }
    }
    if (L > 1) {
        /* the first hidden layer's activation and dropout, these columns */
        const int64_t n = sizes[1], j_end = hi < n ? hi : n;
        for (int64_t i = 0; i < m; i++)
            NAME(activate)(c->activation, A[0] + i * stride0 + lo, (hi - lo) / LANES);
        if (dropout)
            for (int64_t i = 0; i < m; i++)
                for (int64_t j = lo; j < j_end; j++) {
                    const int64_t e = i * stride0 + j;
                    M[0][e] = u[i * n + j] >= p ? keep_scale : (REAL)0;
                    Q[0][e] = A[0][e] * M[0][e];
                }
    }
}

/* BP2 into Delta^l's columns k_lo..k_hi (from Delta^{l+1}, with the weights from
 * before this step's update), then the step of W^{l+1}'s rows k_lo..k_hi. Rows
 * and columns are the same units, so a thread can take its own: the rows it
 * reads for BP2 are the rows it then updates. */
static void NAME(backward_layer)(const NAME(Shared) *sh, const REAL **rows, int l,
                                 int64_t k_lo, int64_t k_hi)
{
    const Block *c = sh->c;
    const int64_t m = sh->m, stride = sh->P[l + 1], prev_stride = sh->P[l];
    const int64_t n_prev = c->sizes[l], k_end = k_hi < n_prev ? k_hi : n_prev;
    const int64_t k_pad = k_lo > n_prev ? k_lo : n_prev;
    REAL *const *W = sh->W, *const *D = sh->D, *const *VW = sh->VW;
    for (int64_t i = 0; i < m; i++) {
        const REAL *restrict d = D[l] + i * stride;
        REAL *restrict d_prev = D[l - 1] + i * prev_stride;
        for (int64_t k = k_lo; k < k_end; k++) {
            const REAL *restrict w = W[l] + k * stride;
            VEC total = (VEC){0};
            for (int64_t j = 0; j < stride; j += LANES)
                total += LOAD(d + j) * LOAD(w + j);
            REAL sum = (REAL)0;
            for (int lane = 0; lane < LANES; lane++)
                sum += total[lane];
            d_prev[k] = sum;
        }
        const REAL *restrict a = sh->A[l - 1] + i * prev_stride;
        const REAL *restrict mask = sh->M[l - 1] + i * prev_stride;
        for (int64_t j = k_lo; j < k_hi; j += LANES) {
            VEC v = LOAD(d_prev + j) *
                    NAME(derivative_from_output)(c->activation, LOAD(a + j));
            if (sh->dropout)
                v = v * LOAD(mask + j);
            STORE(d_prev + j, v);
        }
        /* the padding's deltas stay zero */
        for (int64_t k = k_pad; k < k_hi; k++)
            d_prev[k] = (REAL)0;
    }
    if (k_end <= k_lo)
        return;
    const REAL *in = sh->dropout ? sh->Q[l - 1] : sh->A[l - 1];
    for (int64_t i = 0; i < m; i++)
        rows[i] = in + i * prev_stride + k_lo;
    NAME(update_dense)(&sh->rule, rows, m, D[l], W[l] + k_lo * stride,
                       VW[l] ? VW[l] + k_lo * stride : NULL, k_end - k_lo, stride, stride,
                       stride);
}

/* BP3: b^{l+1}'s step is the column sums of Delta^{l+1}. */
static void NAME(bias_step)(const NAME(Shared) *sh, int l)
{
    const int64_t m = sh->m, stride = sh->P[l + 1];
    for (int64_t col = 0; col < stride; col += LANES) {
        VEC step = (VEC){0};
        for (int64_t i = 0; i < m; i++)
            step += LOAD(sh->D[l] + i * stride + col);
        NAME(update_vectors)(&sh->bias_rule, sh->B[l] + col,
                             sh->momentum ? sh->VB[l] + col : NULL, &step, 1);
    }
}

/* Thread 0's part between the barriers: the later layers' forward pass, the
 * output error (BP1), the backward pass down to Delta^2 with the updates of
 * W^3 and later, and every layer's bias step; each thread then takes its
 * share of Delta^1 and of W^2's step (first_layer_step). */
static void NAME(later_layers)(const NAME(Shared) *sh, NAME(Part) *t, int64_t batch)
{
    const Block *c = sh->c;
    const int L = sh->L;
    const int64_t m = sh->m, *sizes = c->sizes, *P = sh->P, n_out = sizes[L];
    const int dropout = sh->dropout;
    const REAL p = sh->p, keep_scale = sh->keep_scale;
    REAL *const *W = sh->W, *const *B = sh->B;
    REAL *const *A = sh->A, *const *D = sh->D, *const *M = sh->M, *const *Q = sh->Q;
    const REAL *Y = (const REAL *)c->Y;
    const REAL *row_scales = (const REAL *)c->row_scales;
    const REAL **rows = t->rows;
    const int64_t *order = c->order + c->start + batch * m;
    const REAL *uniforms = (const REAL *)c->uniforms;
    const REAL *u = dropout ? uniforms + batch * m * sh->hidden_total : NULL;

    /* the later layers */
    const REAL *ul = dropout ? u + m * sizes[1] : NULL;
    for (int l = L > 1 ? 1 : 0; l < L; l++) {
        const int64_t n = sizes[l + 1], stride = P[l + 1];
        REAL *a = A[l];
        if (l > 0) {
            const REAL *in = dropout ? Q[l - 1] : A[l - 1];
            for (int64_t i = 0; i < m; i++)
                rows[i] = in + i * P[l];
            NAME(forward_dense)(rows, m, W[l], B[l], a, sizes[l], stride, stride,
                                stride, (REAL)1);
        }
        if (l < L - 1) {
            NAME(activate)(c->activation, a, m * stride / LANES);
            if (dropout) {
                for (int64_t i = 0; i < m; i++)
                    for (int64_t j = 0; j < n; j++) {
                        const int64_t e = i * stride + j;
                        M[l][e] = ul[i * n + j] >= p ? keep_scale : (REAL)0;
                        Q[l][e] = a[e] * M[l][e];
                    }
                ul += m * n;
            }
        } else if (c->softmax) {
            for (int64_t i = 0; i < m; i++) {
                REAL *restrict r = a + i * stride, top = r[0], total = (REAL)0;
                for (int64_t j = 1; j < n; j++)
                    top = r[j] > top ? r[j] : top;
                for (int64_t j = 0; j < n; j++) {
                    r[j] = EXP(r[j] - top);
                    total += r[j];
                }
                for (int64_t j = 0; j < n; j++)
                    r[j] /= total;
            }
        } else {
            NAME(activate)(ACT_SIGMOID, a, m * stride / LANES);
        }
    }

    if (c->costs && (c->first_batch + batch) % c->cost_stride == 0)
        c->costs[batch] = NAME(batch_cost)(c, A[L - 1], Y, order, m, n_out, P[L]);

    /* the output error (BP1), scaled by eta / m or by the row's weight */
    {
        REAL *restrict d = D[L - 1];
        const REAL *restrict a = A[L - 1];
        const int64_t stride = P[L];
        for (int64_t i = 0; i < m; i++) {
            const REAL *restrict y = Y + order[i] * n_out;
            const REAL scale =
                row_scales ? row_scales[batch * m + i] : (REAL)c->row_scale;
            for (int64_t j = 0; j < n_out; j++) {
                const int64_t e = i * stride + j;
                REAL delta = a[e] - y[j];
                if (c->quadratic)
                    delta = delta * (((REAL)1 - a[e]) * a[e]);
                d[e] = delta * scale;
            }
        }
    }
    for (int l = L - 1; l >= 1; l--) {
        /* Delta^1 and W^2's step belong to the threads' columns (first_layer_step) */
        if (l > 1)
            NAME(backward_layer)(sh, rows, l, 0, P[l]);
        NAME(bias_step)(sh, l);
    }
}

/* panel[idx, :] -= (x * scale) Delta^1 row for each nonzero (idx, x) of each of
 * the batch's rows, over the thread's columns: the sparse first layer's step. */
static void NAME(scatter_rows)(const NAME(Shared) *sh, const NAME(Part) *t,
                               const int64_t *order, REAL *panel, REAL scale)
{
    const Block *c = sh->c;
    const REAL *Xdata = (const REAL *)c->data, *D0 = sh->D[0];
    const int64_t lo = t->lo, hi = t->hi, pitch = t->pitch, stride0 = sh->P[1];
    for (int64_t i = 0; i < sh->m; i++) {
        const int64_t row = order[i], first = c->indptr[row];
        const int64_t nnz = c->indptr[row + 1] - first;
        for (int64_t col = lo; col < hi; col += 4 * LANES) {
            const int nc = (int)((hi - col) / LANES < 4 ? (hi - col) / LANES : 4);
#define CALL(NC)                                                                           \
    NAME(scatter_sparse_tile)(c->indices + first, Xdata + first, nnz, panel + (col - lo),  \
                              D0 + i * stride0 + col, pitch, scale, NC)
            DISPATCH_NC(CALL, nc)
#undef CALL
        }
    }
}

/* The step of W^1 and b^1 for the thread's columns, with the penalty. */
static void NAME(first_layer_step)(const NAME(Shared) *sh, NAME(Part) *t, int64_t batch)
{
    const Block *c = sh->c;
    const int64_t m = sh->m, n_batches = sh->n_batches, n_in0 = c->sizes[0];
    const int sparse = sh->sparse, momentum = sh->momentum, lazy = sh->lazy;
    const int sparse_momentum = sh->sparse_momentum, dense_pass = sh->dense_pass;
    const NAME(Rule) rule = sh->rule, bias_rule = sh->bias_rule;
    REAL *const *B = sh->B, *const *VB = sh->VB, *const *D = sh->D;
    const REAL *X = (const REAL *)c->X;
    const int64_t lo = t->lo, hi = t->hi, pitch = t->pitch, stride0 = sh->P[1];
    REAL *W0 = t->W0, *V0 = t->V0, *G0 = t->G0;
    const REAL **rows = t->rows;
    const int64_t *order = c->order + c->start + batch * m;
    REAL s = t->s;

    if (sh->L > 1)
        NAME(backward_layer)(sh, rows, 1, lo, hi);

    /* the first layer's step, this thread's columns */
    if (!sparse) {
        for (int64_t i = 0; i < m; i++)
            rows[i] = X + order[i] * n_in0;
        NAME(update_dense)(&rule, rows, m, D[0] + lo, W0, momentum ? V0 : NULL, n_in0,
                           stride0, pitch, hi - lo);
    } else if (sparse_momentum) {
        NAME(scatter_rows)(sh, t, order, V0, (REAL)1);
        const REAL next_mu = batch + 1 < n_batches ? rule.mu : (REAL)1;
        for (int64_t k = 0; k < n_in0; k++)
            for (int64_t e = k * pitch; e < k * pitch + (hi - lo); e += LANES) {
                VEC w = LOAD(W0 + e), v = LOAD(V0 + e);
                if (rule.reg == REG_L2)
                    v = v - w * rule.rate;
                else if (rule.reg == REG_L1)
                    v = v - NAME(sign)(w) * rule.rate;
                STORE(W0 + e, w + v);
                STORE(V0 + e, v * next_mu);
            }
    } else if (dense_pass) {
        /* scatter the step of the touched rows, then one dense pass */
        NAME(scatter_rows)(sh, t, order, G0, (REAL)-1);
        for (int64_t k = 0; k < n_in0; k++) {
            REAL *g = G0 + k * pitch;
            for (int64_t col = 0; col < hi - lo; col += LANES) {
                VEC step = LOAD(g + col);
                NAME(update_vectors)(&rule, W0 + k * pitch + col,
                                     momentum ? V0 + k * pitch + col : NULL, &step, 1);
                STORE(g + col, (VEC){0});
            }
        }
    } else {
        /* only the touched rows move; L2's decay goes into s */
        if (lazy) {
            s *= rule.decay;
            if (s < (REAL)LAZY_SCALE_FLOOR) {
                NAME(scale_columns)(W0, n_in0, pitch, 0, hi - lo, s);
                s = (REAL)1;
            }
        }
        NAME(scatter_rows)(sh, t, order, W0, (REAL)1 / s);
    }
    /* BP3 for the first layer, these columns */
    for (int64_t col = lo; col < hi; col += LANES) {
        VEC step = (VEC){0};
        for (int64_t i = 0; i < m; i++)
            step += LOAD(D[0] + i * stride0 + col);
        NAME(update_vectors)(&bias_rule, B[0] + col, momentum ? VB[0] + col : NULL,
                             &step, 1);
    }
    t->s = s;
}
