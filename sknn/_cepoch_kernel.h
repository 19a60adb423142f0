/* One block of mini-batch SGD steps for a fully connected network.
 *
 * Included by _cepoch.c once per (REAL, instruction set) pair, with REAL set
 * to float or double, VEC the matching 32-byte vector type, LANES its length
 * and NAME(x) giving every function a distinct name. The arithmetic is the
 * numpy core's (sknn/_network.py, sknn/optimizers.py), step for step, so both
 * paths agree to rounding:
 *
 *   forward   A^l = f(A^{l-1} W^l + b^l), inverted dropout on hidden layers;
 *   backward  Delta^L = dC/dZ^L * row_scale, Delta^l = (Delta^{l+1} W^T) f'(A^l);
 *   update    w -> w (1 - rate) - step          (L2, no momentum; eq. 93)
 *             w -> w - rate sgn(w) - step       (L1; eq. 97)
 *             v -> mu v - rate dR/dw - step, w -> w + v   (momentum)
 *
 * with step = A^{l-1}^T Delta^l, eta and the 1/m of the mean already folded
 * into Delta^L through row_scale.
 *
 * Layout. For the block, every weight matrix, bias and velocity is copied
 * into a buffer whose rows are padded with zeros to whole vectors, and copied
 * back at the end; the padding stays zero (its deltas are zero), so every
 * inner loop runs over whole, aligned vectors. The products are register
 * tiles of up to 4 vectors wide: 2 batch rows in the forward product, 2
 * weight rows in the weight step.
 *
 * The first layer reads its input either densely, one row of X per sample,
 * or through the sample's nonzero (index, value) pairs of a CSR matrix. In
 * the sparse form the forward product and the weight step touch only the
 * rows of W^1 that belong to nonzero inputs; L2 without momentum then keeps
 * W^1 = s V and decays the scalar s instead of every weight (as
 * scikit-learn's SGDClassifier keeps ``wscale``), folding s back into the
 * weights when it gets small and at the end of the block. L1 and momentum
 * touch every weight each step by definition, so there the sparse form
 * saves the products only: the step is scattered (into the velocities, which
 * hold mu v between steps, or into a zeroed buffer) and one dense pass
 * applies the penalty and moves the weights.
 */

#define INLINE static inline __attribute__((always_inline))
#define LOAD(p) (*(const VEC *)(p))
#define STORE(p, v) (*(VEC *)(p) = (v))

INLINE VEC NAME(splat)(REAL x)
{
    return (VEC){0} + x;
}

/* -- exp over a vector ------------------------------------------------ */

INLINE VEC NAME(select)(IVEC mask, VEC yes, VEC no)
{
    return (VEC)(((IVEC)yes & mask) | ((IVEC)no & ~mask));
}

#if REAL_IS_FLOAT
/* Cephes' expf: 2^n p(r) with r = x - n ln 2 split in two parts; about 1 ulp.
 * Arguments are clamped to [-87.3, 88] (a NaN passes through), so the result
 * is always a normal float or NaN. */
INLINE VEC NAME(exp_vector)(VEC x)
{
    x = NAME(select)(x > 88.0f, NAME(splat)(88.0f), x);
    x = NAME(select)(x < -87.3f, NAME(splat)(-87.3f), x);
    VEC y = x * 1.44269504088896341f + 0.5f;
    IVEC n = __builtin_convertvector(y, IVEC);
    VEC nf = __builtin_convertvector(n, VEC);
    IVEC above = nf > y; /* truncation rounded a negative y up: floor it */
    n = n + above;
    nf = __builtin_convertvector(n, VEC);
    VEC r = x - nf * 0.693359375f;
    r = r - nf * -2.12194440e-4f;
    VEC p = 1.9875691500E-4f * r + 1.3981999507E-3f;
    p = p * r + 8.3334519073E-3f;
    p = p * r + 4.1665795894E-2f;
    p = p * r + 1.6666665459E-1f;
    p = p * r + 5.0000001201E-1f;
    p = p * (r * r) + r + 1.0f;
    return p * (VEC)((n + 127) << 23);
}
#define EXP_VEC(v) ((v) = NAME(exp_vector)(v))
#else
#define EXP_VEC(v)                                                                     \
    do {                                                                               \
        for (int lane_ = 0; lane_ < LANES; lane_++)                                    \
            (v)[lane_] = EXP((v)[lane_]);                                              \
    } while (0)
#endif

/* -- activations ------------------------------------------------------ */

INLINE VEC NAME(sigmoid)(VEC z)
{
    VEC e = -z;
    EXP_VEC(e);
    return (REAL)1 / ((REAL)1 + e);
}

static void NAME(activate)(int act, REAL *restrict a, int64_t n_vectors)
{
    if (act == ACT_SIGMOID) {
        for (int64_t v = 0; v < n_vectors; v++)
            STORE(a + v * LANES, NAME(sigmoid)(LOAD(a + v * LANES)));
    } else if (act == ACT_TANH) {
        for (int64_t e = 0; e < n_vectors * LANES; e++)
            a[e] = TANH(a[e]);
    } else {
        for (int64_t v = 0; v < n_vectors; v++) {
            VEC z = LOAD(a + v * LANES);
            /* max(z, 0) that keeps NaN, so a diverged run still shows */
            IVEC negative = z < (REAL)0;
            STORE(a + v * LANES, (VEC)((IVEC)z & ~negative));
        }
    }
}

INLINE VEC NAME(derivative_from_output)(int act, VEC a)
{
    if (act == ACT_SIGMOID)
        return ((REAL)1 - a) * a;
    if (act == ACT_TANH)
        return (REAL)1 - a * a;
    return __builtin_convertvector(-(a > (REAL)0), VEC);
}

INLINE VEC NAME(sign)(VEC w)
{
    return __builtin_convertvector((w < (REAL)0) - (w > (REAL)0), VEC);
}

/* -- updates ---------------------------------------------------------- */

typedef struct {
    int reg, momentum;
    REAL rate, decay, mu;
} NAME(Rule);

/* The penalty and the step for NC vectors of one row (and its velocities). */
INLINE void NAME(update_vectors)(const NAME(Rule) * u, REAL *restrict w, REAL *restrict v,
                                 const VEC *step, int NC)
{
    for (int c = 0; c < NC; c++) {
        VEC wc = LOAD(w + c * LANES);
        if (!u->momentum) {
            if (u->reg == REG_L2)
                wc = wc * u->decay - step[c];
            else if (u->reg == REG_L1)
                wc = (wc - NAME(sign)(wc) * u->rate) - step[c];
            else
                wc = wc - step[c];
        } else {
            VEC vc = LOAD(v + c * LANES) * u->mu;
            if (u->reg == REG_L2)
                vc = vc - wc * u->rate;
            else if (u->reg == REG_L1)
                vc = vc - NAME(sign)(wc) * u->rate;
            vc = vc - step[c];
            STORE(v + c * LANES, vc);
            wc = wc + vc;
        }
        STORE(w + c * LANES, wc);
    }
}

/* -- products --------------------------------------------------------- */

/* out[r, cols] = s (in[r, :n_in] W[:, cols]) + b[cols] for TR rows, NC vectors;
 * W's rows are w_pitch apart, out's out_pitch. */
INLINE void NAME(forward_tile)(const REAL *const *rows, const REAL *restrict W,
                               const REAL *restrict b, REAL *restrict out, int64_t n_in,
                               int64_t w_pitch, int64_t out_pitch, REAL s, int TR, int NC)
{
    VEC acc[2][4];
    for (int r = 0; r < TR; r++)
        for (int c = 0; c < NC; c++)
            acc[r][c] = (VEC){0};
    for (int64_t k = 0; k < n_in; k++) {
        VEC w[4];
        for (int c = 0; c < NC; c++)
            w[c] = LOAD(W + k * w_pitch + c * LANES);
        for (int r = 0; r < TR; r++) {
            const REAL x = rows[r][k];
            for (int c = 0; c < NC; c++)
                acc[r][c] += x * w[c];
        }
    }
    for (int r = 0; r < TR; r++)
        for (int c = 0; c < NC; c++)
            STORE(out + r * out_pitch + c * LANES, acc[r][c] * s + LOAD(b + c * LANES));
}

#define DISPATCH_NC(call_with_nc, nc)                                                  \
    switch (nc) {                                                                      \
    case 4: call_with_nc(4); break;                                                    \
    case 3: call_with_nc(3); break;                                                    \
    case 2: call_with_nc(2); break;                                                    \
    default: call_with_nc(1); break;                                                   \
    }

/* Z = rows W + b for m rows over `cols` columns, W of n_in rows; W, b and Z
 * point at the first of the columns, W's rows w_pitch apart and Z's z_pitch. */
static void NAME(forward_dense)(const REAL *const *rows, int64_t m, const REAL *W,
                                const REAL *b, REAL *Z, int64_t n_in, int64_t w_pitch,
                                int64_t z_pitch, int64_t cols, REAL s)
{
    for (int64_t col = 0; col < cols; col += 4 * LANES) {
        const int nc = (int)((cols - col) / LANES < 4 ? (cols - col) / LANES : 4);
        int64_t i = 0;
        for (; i + 2 <= m; i += 2) {
#define CALL(NC) \
    NAME(forward_tile)(rows + i, W + col, b + col, Z + i * z_pitch + col, n_in, w_pitch, z_pitch, \
                       s, 2, NC)
            DISPATCH_NC(CALL, nc)
#undef CALL
        }
        if (i < m) {
#define CALL(NC) \
    NAME(forward_tile)(rows + i, W + col, b + col, Z + i * z_pitch + col, n_in, w_pitch, z_pitch, \
                       s, 1, NC)
            DISPATCH_NC(CALL, nc)
#undef CALL
        }
    }
}

/* One row's product over its nonzero inputs: z = s (x V) + b. */
INLINE void NAME(forward_sparse_tile)(const int32_t *restrict idx, const REAL *restrict val,
                                      int64_t nnz, const REAL *restrict W,
                                      const REAL *restrict b, REAL *restrict z,
                                      int64_t stride, REAL s, int NC)
{
    VEC acc[4];
    for (int c = 0; c < NC; c++)
        acc[c] = (VEC){0};
    for (int64_t q = 0; q < nnz; q++) {
        const REAL x = val[q];
        const REAL *restrict w = W + (int64_t)idx[q] * stride;
        for (int c = 0; c < NC; c++)
            acc[c] += x * LOAD(w + c * LANES);
    }
    for (int c = 0; c < NC; c++)
        STORE(z + c * LANES, acc[c] * s + LOAD(b + c * LANES));
}

/* W[idx, cols] -= (x / s) d[cols] for one row's nonzero inputs. */
INLINE void NAME(scatter_sparse_tile)(const int32_t *restrict idx, const REAL *restrict val,
                                      int64_t nnz, REAL *restrict W, const REAL *restrict d,
                                      int64_t stride, REAL scale, int NC)
{
    VEC dc[4];
    for (int c = 0; c < NC; c++)
        dc[c] = LOAD(d + c * LANES) * scale;
    for (int64_t q = 0; q < nnz; q++) {
        const REAL x = val[q];
        REAL *restrict w = W + (int64_t)idx[q] * stride;
        for (int c = 0; c < NC; c++)
            STORE(w + c * LANES, LOAD(w + c * LANES) - x * dc[c]);
    }
}

/* Rows k0..k0+TK of step = in^T D, each applied to W (and V) as it is done;
 * D's rows are d_pitch apart, W's (and V's) w_pitch. */
INLINE void NAME(update_tile)(const NAME(Rule) * u, const REAL *const *rows, int64_t m,
                              const REAL *restrict D, REAL *restrict W, REAL *restrict V,
                              int64_t k0, int64_t d_pitch, int64_t w_pitch, int TK, int NC)
{
    VEC acc[2][4];
    for (int t = 0; t < TK; t++)
        for (int c = 0; c < NC; c++)
            acc[t][c] = (VEC){0};
    for (int64_t i = 0; i < m; i++) {
        VEC d[4];
        for (int c = 0; c < NC; c++)
            d[c] = LOAD(D + i * d_pitch + c * LANES);
        for (int t = 0; t < TK; t++) {
            const REAL x = rows[i][k0 + t];
            for (int c = 0; c < NC; c++)
                acc[t][c] += x * d[c];
        }
    }
    for (int t = 0; t < TK; t++)
        NAME(update_vectors)(u, W + (k0 + t) * w_pitch, V ? V + (k0 + t) * w_pitch : NULL,
                             acc[t], NC);
}

/* The step and the update of W (and V) over `cols` columns from the pointers. */
static void NAME(update_dense)(const NAME(Rule) * u, const REAL *const *rows, int64_t m,
                               const REAL *D, REAL *W, REAL *V, int64_t n_in,
                               int64_t d_pitch, int64_t w_pitch, int64_t cols)
{
    for (int64_t col = 0; col < cols; col += 4 * LANES) {
        const int nc = (int)((cols - col) / LANES < 4 ? (cols - col) / LANES : 4);
        REAL *Vc = V ? V + col : NULL;
        int64_t k = 0;
        for (; k + 2 <= n_in; k += 2) {
#define CALL(NC) \
    NAME(update_tile)(u, rows, m, D + col, W + col, Vc, k, d_pitch, w_pitch, 2, NC)
            DISPATCH_NC(CALL, nc)
#undef CALL
        }
        if (k < n_in) {
#define CALL(NC) \
    NAME(update_tile)(u, rows, m, D + col, W + col, Vc, k, d_pitch, w_pitch, 1, NC)
            DISPATCH_NC(CALL, nc)
#undef CALL
        }
    }
}

/* -- the cost of a batch, for the caller's health check --------------- */

/* The mean over the batch's rows of the cost C_0 of each row (sknn.costs). */
static double NAME(batch_cost)(const Block *c, const REAL *a, const REAL *Y,
                               const int64_t *order, int64_t m, int64_t n, int64_t stride)
{
    const double eps = (double)REAL_EPS;
    double total = 0.0;
    for (int64_t i = 0; i < m; i++) {
        const REAL *y = Y + order[i] * n;
        for (int64_t j = 0; j < n; j++) {
            const double out = (double)a[i * stride + j], target = (double)y[j];
            const double clipped = out < eps ? eps : (out > 1.0 - eps ? 1.0 - eps : out);
            if (c->quadratic)
                total += 0.5 * (out - target) * (out - target);
            else if (c->softmax)
                total -= target * log(clipped);
            else
                total -= target * log(clipped) + (1.0 - target) * log1p(-clipped);
        }
    }
    return total / (double)m;
}

/* -- the block -------------------------------------------------------- */

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
    const int L = sh->L, nt = sh->nt;
    const int64_t m = sh->m, n_batches = sh->n_batches, hidden_total = sh->hidden_total;
    const int64_t *sizes = c->sizes, *P = sh->P;
    const int dropout = sh->dropout, sparse = sh->sparse, momentum = sh->momentum;
    const int lazy = sh->lazy, sparse_momentum = sh->sparse_momentum;
    const int dense_pass = sh->dense_pass;
    const REAL p = sh->p, keep_scale = sh->keep_scale;
    const NAME(Rule) rule = sh->rule, bias_rule = sh->bias_rule;
    REAL *const *W = sh->W, *const *B = sh->B, *const *VW = sh->VW, *const *VB = sh->VB;
    REAL *const *A = sh->A, *const *D = sh->D, *const *M = sh->M, *const *Q = sh->Q;
    const REAL *X = (const REAL *)c->X, *Xdata = (const REAL *)c->data;
    const REAL *Y = (const REAL *)c->Y;
    const REAL *row_scales = (const REAL *)c->row_scales;
    const REAL *uniforms = (const REAL *)c->uniforms;
    const int64_t n_in0 = sizes[0], n_out = sizes[L];
    const REAL **rows = sh->rows + tid * m;
    int64_t lo, hi;
    NAME(thread_columns)(sh->T1, nt, tid, &lo, &hi);
    const int64_t stride0 = P[1], pitch = sh->pitch0[tid];
    REAL *W0 = sh->W0[tid], *V0 = sh->V0[tid], *G0 = sh->G0[tid];

    REAL s = (REAL)1; /* W^1 = s V, with V in the panels, when lazy */
    if (sparse_momentum && c->stop > c->start)
        NAME(scale_columns)(V0, n_in0, pitch, 0, hi - lo, rule.mu);
    for (int64_t batch = 0; batch < n_batches; batch++) {
        const int64_t *order = c->order + c->start + batch * m;
        const REAL *u = dropout ? uniforms + batch * m * hidden_total : NULL;

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
    NAME(forward_sparse_tile)(c->indices + first, Xdata + first, nnz, W0 + (col - lo),      \
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
        sync_barrier_wait(&sh->barrier);

        if (tid == 0) {
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
                const int64_t stride = P[l + 1];
                /* BP2, with the weights from before this step's update */
                const int64_t n_prev = sizes[l], prev_stride = P[l];
                for (int64_t i = 0; i < m; i++) {
                    const REAL *restrict d = D[l] + i * stride;
                    REAL *restrict d_prev = D[l - 1] + i * prev_stride;
                    for (int64_t k = 0; k < n_prev; k++) {
                        const REAL *restrict w = W[l] + k * stride;
                        VEC total = (VEC){0};
                        for (int64_t j = 0; j < stride; j += LANES)
                            total += LOAD(d + j) * LOAD(w + j);
                        REAL sum = (REAL)0;
                        for (int lane = 0; lane < LANES; lane++)
                            sum += total[lane];
                        d_prev[k] = sum;
                    }
                    const REAL *restrict a = A[l - 1] + i * prev_stride;
                    const REAL *restrict mask = M[l - 1] + i * prev_stride;
                    for (int64_t j = 0; j < prev_stride; j += LANES) {
                        VEC v = LOAD(d_prev + j) *
                                NAME(derivative_from_output)(c->activation, LOAD(a + j));
                        if (dropout)
                            v = v * LOAD(mask + j);
                        STORE(d_prev + j, v);
                    }
                    /* the padding's deltas stay zero */
                    for (int64_t k = n_prev; k < prev_stride; k++)
                        d_prev[k] = (REAL)0;
                }
                const REAL *in = dropout ? Q[l - 1] : A[l - 1];
                for (int64_t i = 0; i < m; i++)
                    rows[i] = in + i * P[l];
                NAME(update_dense)(&rule, rows, m, D[l], W[l], VW[l], n_prev, stride, stride,
                                   stride);
                /* BP3: the bias step is the column sums of Delta */
                for (int64_t col = 0; col < stride; col += LANES) {
                    VEC step = (VEC){0};
                    for (int64_t i = 0; i < m; i++)
                        step += LOAD(D[l] + i * stride + col);
                    NAME(update_vectors)(&bias_rule, B[l] + col,
                                         momentum ? VB[l] + col : NULL, &step, 1);
                }
            }
        }
        sync_barrier_wait(&sh->barrier);

        /* the first layer's step, this thread's columns */
        if (!sparse) {
            for (int64_t i = 0; i < m; i++)
                rows[i] = X + order[i] * n_in0;
            NAME(update_dense)(&rule, rows, m, D[0] + lo, W0, momentum ? V0 : NULL, n_in0,
                               stride0, pitch, hi - lo);
        } else if (sparse_momentum) {
            for (int64_t i = 0; i < m; i++) {
                const int64_t row = order[i], first = c->indptr[row];
                const int64_t nnz = c->indptr[row + 1] - first;
                for (int64_t col = lo; col < hi; col += 4 * LANES) {
                    const int nc = (int)((hi - col) / LANES < 4 ? (hi - col) / LANES : 4);
#define CALL(NC)                                                                           \
    NAME(scatter_sparse_tile)(c->indices + first, Xdata + first, nnz, V0 + (col - lo),   \
                              D[0] + i * stride0 + col, pitch, (REAL)1, NC)
                    DISPATCH_NC(CALL, nc)
#undef CALL
                }
            }
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
            for (int64_t i = 0; i < m; i++) {
                const int64_t row = order[i], first = c->indptr[row];
                const int64_t nnz = c->indptr[row + 1] - first;
                for (int64_t col = lo; col < hi; col += 4 * LANES) {
                    const int nc = (int)((hi - col) / LANES < 4 ? (hi - col) / LANES : 4);
#define CALL(NC)                                                                           \
    NAME(scatter_sparse_tile)(c->indices + first, Xdata + first, nnz, G0 + (col - lo),   \
                              D[0] + i * stride0 + col, pitch, (REAL)-1, NC)
                    DISPATCH_NC(CALL, nc)
#undef CALL
                }
            }
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
            const REAL inverse_scale = (REAL)1 / s;
            for (int64_t i = 0; i < m; i++) {
                const int64_t row = order[i], first = c->indptr[row];
                const int64_t nnz = c->indptr[row + 1] - first;
                for (int64_t col = lo; col < hi; col += 4 * LANES) {
                    const int nc = (int)((hi - col) / LANES < 4 ? (hi - col) / LANES : 4);
#define CALL(NC)                                                                           \
    NAME(scatter_sparse_tile)(c->indices + first, Xdata + first, nnz, W0 + (col - lo),   \
                              D[0] + i * stride0 + col, pitch, inverse_scale, NC)
                    DISPATCH_NC(CALL, nc)
#undef CALL
                }
            }
        }
        /* BP3 for the first layer, these columns */
        for (int64_t col = lo; col < hi; col += LANES) {
            VEC step = (VEC){0};
            for (int64_t i = 0; i < m; i++)
                step += LOAD(D[0] + i * stride0 + col);
            NAME(update_vectors)(&bias_rule, B[0] + col, momentum ? VB[0] + col : NULL,
                                 &step, 1);
        }
    }
    if (s != (REAL)1)
        NAME(scale_columns)(W0, n_in0, pitch, 0, hi - lo, s);
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
        sh->W0[t] = NAME(panel_copy)((const REAL *)c->weights[0], sizes[0], sizes[1], lo, hi,
                                     pitch, &owners[n_owners++]);
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

#undef INLINE
#undef LOAD
#undef STORE
#undef DISPATCH_NC
#undef EXP_VEC
/* The parameters _cepoch.c set for this instantiation, so it can set the next. */
#undef REAL
#undef REAL_IS_FLOAT
#undef REAL_EPS
#undef VEC
#undef IVEC
#undef LANES
#undef EXP
#undef TANH
#undef NAME
