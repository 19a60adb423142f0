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

/* out[r, cols] = s (in[r, :n_in] W[:, cols]) + b[cols] for TR rows, NC vectors. */
INLINE void NAME(forward_tile)(const REAL *const *rows, const REAL *restrict W,
                               const REAL *restrict b, REAL *restrict out, int64_t n_in,
                               int64_t stride, REAL s, int TR, int NC)
{
    VEC acc[2][4];
    for (int r = 0; r < TR; r++)
        for (int c = 0; c < NC; c++)
            acc[r][c] = (VEC){0};
    for (int64_t k = 0; k < n_in; k++) {
        VEC w[4];
        for (int c = 0; c < NC; c++)
            w[c] = LOAD(W + k * stride + c * LANES);
        for (int r = 0; r < TR; r++) {
            const REAL x = rows[r][k];
            for (int c = 0; c < NC; c++)
                acc[r][c] += x * w[c];
        }
    }
    for (int r = 0; r < TR; r++)
        for (int c = 0; c < NC; c++)
            STORE(out + r * stride + c * LANES, acc[r][c] * s + LOAD(b + c * LANES));
}

#define DISPATCH_NC(call_with_nc, nc)                                                  \
    switch (nc) {                                                                      \
    case 4: call_with_nc(4); break;                                                    \
    case 3: call_with_nc(3); break;                                                    \
    case 2: call_with_nc(2); break;                                                    \
    default: call_with_nc(1); break;                                                   \
    }

/* Z = rows W + b for m rows, W of n_in rows and `stride` (padded) columns. */
static void NAME(forward_dense)(const REAL *const *rows, int64_t m, const REAL *W,
                                const REAL *b, REAL *Z, int64_t n_in, int64_t stride,
                                REAL s)
{
    for (int64_t col = 0; col < stride; col += 4 * LANES) {
        const int nc = (int)((stride - col) / LANES < 4 ? (stride - col) / LANES : 4);
        int64_t i = 0;
        for (; i + 2 <= m; i += 2) {
#define CALL(NC) \
    NAME(forward_tile)(rows + i, W + col, b + col, Z + i * stride + col, n_in, stride, s, 2, NC)
            DISPATCH_NC(CALL, nc)
#undef CALL
        }
        if (i < m) {
#define CALL(NC) \
    NAME(forward_tile)(rows + i, W + col, b + col, Z + i * stride + col, n_in, stride, s, 1, NC)
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

/* Rows k0..k0+TK of step = in^T D, each applied to W (and V) as it is done. */
INLINE void NAME(update_tile)(const NAME(Rule) * u, const REAL *const *rows, int64_t m,
                              const REAL *restrict D, REAL *restrict W, REAL *restrict V,
                              int64_t k0, int64_t stride, int TK, int NC)
{
    VEC acc[2][4];
    for (int t = 0; t < TK; t++)
        for (int c = 0; c < NC; c++)
            acc[t][c] = (VEC){0};
    for (int64_t i = 0; i < m; i++) {
        VEC d[4];
        for (int c = 0; c < NC; c++)
            d[c] = LOAD(D + i * stride + c * LANES);
        for (int t = 0; t < TK; t++) {
            const REAL x = rows[i][k0 + t];
            for (int c = 0; c < NC; c++)
                acc[t][c] += x * d[c];
        }
    }
    for (int t = 0; t < TK; t++)
        NAME(update_vectors)(u, W + (k0 + t) * stride, V ? V + (k0 + t) * stride : NULL,
                             acc[t], NC);
}

static void NAME(update_dense)(const NAME(Rule) * u, const REAL *const *rows, int64_t m,
                               const REAL *D, REAL *W, REAL *V, int64_t n_in,
                               int64_t stride)
{
    for (int64_t col = 0; col < stride; col += 4 * LANES) {
        const int nc = (int)((stride - col) / LANES < 4 ? (stride - col) / LANES : 4);
        REAL *Vc = V ? V + col : NULL;
        int64_t k = 0;
        for (; k + 2 <= n_in; k += 2) {
#define CALL(NC) NAME(update_tile)(u, rows, m, D + col, W + col, Vc, k, stride, 2, NC)
            DISPATCH_NC(CALL, nc)
#undef CALL
        }
        if (k < n_in) {
#define CALL(NC) NAME(update_tile)(u, rows, m, D + col, W + col, Vc, k, stride, 1, NC)
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

static int NAME(train_block)(const Block *c)
{
    const int L = c->n_layers;
    const int64_t m = c->batch_size;
    const int64_t *sizes = c->sizes;
    int64_t P[MAX_LAYERS + 1]; /* padded widths */
    for (int l = 0; l <= L; l++)
        P[l] = (sizes[l] + LANES - 1) / LANES * LANES;
    const int dropout = c->dropout > 0.0;
    const int sparse = c->indptr != NULL;
    const int momentum = c->weight_velocities != NULL;
    const REAL p = (REAL)c->dropout, keep_scale = (REAL)(1.0 / (1.0 - c->dropout));
    const NAME(Rule) rule = {c->reg, momentum, (REAL)c->rate, (REAL)(1.0 - c->rate),
                             (REAL)c->mu};
    const NAME(Rule) bias_rule = {REG_NONE, momentum, (REAL)0, (REAL)1, (REAL)c->mu};
    const int lazy = c->lazy_scale;
    /* sparse + momentum: V holds mu v between steps, the step is scattered into
     * it, and one pass over (W, V) adds the penalty, moves W and multiplies V
     * by mu for the next step; sparse + L1 (or L2 not lazy): the step is
     * scattered into G0 and one pass applies it with the penalty */
    const int sparse_momentum = sparse && momentum;
    const int dense_pass = sparse && !lazy && !momentum && c->reg != REG_NONE;
    const REAL *X = (const REAL *)c->X, *Xdata = (const REAL *)c->data;
    const REAL *Y = (const REAL *)c->Y;
    const REAL *row_scales = (const REAL *)c->row_scales;
    const REAL *uniforms = (const REAL *)c->uniforms;
    const int64_t n_in0 = sizes[0], n_out = sizes[L];
    int64_t hidden_total = 0;
    for (int l = 1; l < L; l++)
        hidden_total += sizes[l];

    void *owners[6 * MAX_LAYERS + 2] = {0};
    int n_owners = 0, failed = 0;
    REAL *W[MAX_LAYERS], *B[MAX_LAYERS], *VW[MAX_LAYERS], *VB[MAX_LAYERS];
    REAL *A[MAX_LAYERS], *D[MAX_LAYERS], *M[MAX_LAYERS], *Q[MAX_LAYERS];
    REAL *G0 = NULL;
    for (int l = 0; l < L && !failed; l++) {
        W[l] = NAME(padded_copy)((const REAL *)c->weights[l], sizes[l], sizes[l + 1],
                                 P[l + 1], &owners[n_owners++]);
        B[l] = NAME(padded_copy)((const REAL *)c->biases[l], 1, sizes[l + 1], P[l + 1],
                                 &owners[n_owners++]);
        VW[l] = VB[l] = NULL;
        if (momentum) {
            VW[l] = NAME(padded_copy)((const REAL *)c->weight_velocities[l], sizes[l],
                                      sizes[l + 1], P[l + 1], &owners[n_owners++]);
            VB[l] = NAME(padded_copy)((const REAL *)c->bias_velocities[l], 1, sizes[l + 1],
                                      P[l + 1], &owners[n_owners++]);
        }
        /* activations, deltas, masks, dropped outputs: one buffer per layer */
        A[l] = NAME(padded_copy)(NULL, 4 * m, P[l + 1], P[l + 1], &owners[n_owners++]);
        failed = !W[l] || !B[l] || (momentum && (!VW[l] || !VB[l])) || !A[l];
        if (!failed) {
            D[l] = A[l] + m * P[l + 1];
            M[l] = D[l] + m * P[l + 1];
            Q[l] = M[l] + m * P[l + 1];
        }
    }
    if (!failed && dense_pass) {
        G0 = NAME(padded_copy)(NULL, n_in0, P[1], P[1], &owners[n_owners++]);
        failed = G0 == NULL;
    }
    const REAL **rows = (const REAL **)malloc(sizeof(REAL *) * (size_t)m);
    if (failed || rows == NULL) {
        for (int i = 0; i < n_owners; i++)
            free(owners[i]);
        free(rows);
        return -1;
    }

    REAL s = (REAL)1; /* W^1 = s V, with V in W[0], when lazy */
    if (sparse_momentum && c->stop > c->start)
        for (int64_t e = 0; e < n_in0 * P[1]; e++)
            VW[0][e] *= rule.mu;
    const int64_t n_batches = (c->stop - c->start) / m;
    for (int64_t batch = 0; batch < n_batches; batch++) {
        const int64_t *order = c->order + c->start + batch * m;
        const REAL *u = dropout ? uniforms + batch * m * hidden_total : NULL;

        /* forward, first layer */
        if (!sparse) {
            for (int64_t i = 0; i < m; i++)
                rows[i] = X + order[i] * n_in0;
            NAME(forward_dense)(rows, m, W[0], B[0], A[0], n_in0, P[1], (REAL)1);
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
                for (int64_t col = 0; col < P[1]; col += 4 * LANES) {
                    const int nc = (int)((P[1] - col) / LANES < 4 ? (P[1] - col) / LANES : 4);
#define CALL(NC)                                                                           \
    NAME(forward_sparse_tile)(c->indices + first, Xdata + first, nnz, W[0] + col, B[0] + col, \
                              A[0] + i * P[1] + col, P[1], s, NC)
                    DISPATCH_NC(CALL, nc)
#undef CALL
                }
            }
        }
        /* activations, dropout and the later layers */
        for (int l = 0; l < L; l++) {
            const int64_t n = sizes[l + 1], stride = P[l + 1];
            REAL *a = A[l];
            if (l > 0) {
                const REAL *in = dropout ? Q[l - 1] : A[l - 1];
                for (int64_t i = 0; i < m; i++)
                    rows[i] = in + i * P[l];
                NAME(forward_dense)(rows, m, W[l], B[l], a, sizes[l], stride, (REAL)1);
            }
            if (l < L - 1) {
                NAME(activate)(c->activation, a, m * stride / LANES);
                if (dropout) {
                    for (int64_t i = 0; i < m; i++)
                        for (int64_t j = 0; j < n; j++) {
                            const int64_t e = i * stride + j;
                            M[l][e] = u[i * n + j] >= p ? keep_scale : (REAL)0;
                            Q[l][e] = a[e] * M[l][e];
                        }
                    u += m * n;
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
                const REAL scale = row_scales ? row_scales[batch * m + i] : (REAL)c->row_scale;
                for (int64_t j = 0; j < n_out; j++) {
                    const int64_t e = i * stride + j;
                    REAL delta = a[e] - y[j];
                    if (c->quadratic)
                        delta = delta * (((REAL)1 - a[e]) * a[e]);
                    d[e] = delta * scale;
                }
            }
        }
        for (int l = L - 1; l >= 0; l--) {
            const int64_t stride = P[l + 1];
            if (l > 0) {
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
                NAME(update_dense)(&rule, rows, m, D[l], W[l], VW[l], n_prev, stride);
            } else if (!sparse) {
                for (int64_t i = 0; i < m; i++)
                    rows[i] = X + order[i] * n_in0;
                NAME(update_dense)(&rule, rows, m, D[0], W[0], VW[0], n_in0, stride);
            } else if (sparse_momentum) {
                for (int64_t i = 0; i < m; i++) {
                    const int64_t row = order[i], first = c->indptr[row];
                    const int64_t nnz = c->indptr[row + 1] - first;
                    for (int64_t col = 0; col < stride; col += 4 * LANES) {
                        const int nc =
                            (int)((stride - col) / LANES < 4 ? (stride - col) / LANES : 4);
#define CALL(NC)                                                                           \
    NAME(scatter_sparse_tile)(c->indices + first, Xdata + first, nnz, VW[0] + col,       \
                              D[0] + i * stride + col, stride, (REAL)1, NC)
                        DISPATCH_NC(CALL, nc)
#undef CALL
                    }
                }
                const REAL next_mu = batch + 1 < n_batches ? rule.mu : (REAL)1;
                for (int64_t e = 0; e < n_in0 * stride; e += LANES) {
                    VEC w = LOAD(W[0] + e), v = LOAD(VW[0] + e);
                    if (rule.reg == REG_L2)
                        v = v - w * rule.rate;
                    else if (rule.reg == REG_L1)
                        v = v - NAME(sign)(w) * rule.rate;
                    STORE(W[0] + e, w + v);
                    STORE(VW[0] + e, v * next_mu);
                }
            } else if (dense_pass) {
                /* scatter the step of the touched rows, then one dense pass */
                for (int64_t i = 0; i < m; i++) {
                    const int64_t row = order[i], first = c->indptr[row];
                    const int64_t nnz = c->indptr[row + 1] - first;
                    for (int64_t col = 0; col < stride; col += 4 * LANES) {
                        const int nc =
                            (int)((stride - col) / LANES < 4 ? (stride - col) / LANES : 4);
#define CALL(NC)                                                                           \
    NAME(scatter_sparse_tile)(c->indices + first, Xdata + first, nnz, G0 + col,          \
                              D[0] + i * stride + col, stride, (REAL)-1, NC)
                        DISPATCH_NC(CALL, nc)
#undef CALL
                    }
                }
                for (int64_t k = 0; k < n_in0; k++) {
                    REAL *g = G0 + k * stride;
                    for (int64_t col = 0; col < stride; col += LANES) {
                        VEC step = LOAD(g + col);
                        NAME(update_vectors)(&rule, W[0] + k * stride + col,
                                             momentum ? VW[0] + k * stride + col : NULL,
                                             &step, 1);
                        STORE(g + col, (VEC){0});
                    }
                }
            } else {
                /* only the touched rows move; L2's decay goes into s */
                if (lazy) {
                    s *= rule.decay;
                    if (s < (REAL)LAZY_SCALE_FLOOR) {
                        for (int64_t e = 0; e < n_in0 * stride; e++)
                            W[0][e] *= s;
                        s = (REAL)1;
                    }
                }
                const REAL inverse_scale = (REAL)1 / s;
                for (int64_t i = 0; i < m; i++) {
                    const int64_t row = order[i], first = c->indptr[row];
                    const int64_t nnz = c->indptr[row + 1] - first;
                    for (int64_t col = 0; col < stride; col += 4 * LANES) {
                        const int nc =
                            (int)((stride - col) / LANES < 4 ? (stride - col) / LANES : 4);
#define CALL(NC)                                                                           \
    NAME(scatter_sparse_tile)(c->indices + first, Xdata + first, nnz, W[0] + col,        \
                              D[0] + i * stride + col, stride, inverse_scale, NC)
                        DISPATCH_NC(CALL, nc)
#undef CALL
                    }
                }
            }
            /* BP3: the bias step is the column sums of Delta */
            for (int64_t col = 0; col < stride; col += LANES) {
                VEC step = (VEC){0};
                for (int64_t i = 0; i < m; i++)
                    step += LOAD(D[l] + i * stride + col);
                NAME(update_vectors)(&bias_rule, B[l] + col, momentum ? VB[l] + col : NULL,
                                     &step, 1);
            }
        }
    }
    if (s != (REAL)1)
        for (int64_t e = 0; e < n_in0 * P[1]; e++)
            W[0][e] *= s;
    for (int l = 0; l < L; l++) {
        NAME(copy_back)((REAL *)c->weights[l], W[l], sizes[l], sizes[l + 1], P[l + 1]);
        NAME(copy_back)((REAL *)c->biases[l], B[l], 1, sizes[l + 1], P[l + 1]);
        if (momentum) {
            NAME(copy_back)((REAL *)c->weight_velocities[l], VW[l], sizes[l], sizes[l + 1],
                            P[l + 1]);
            NAME(copy_back)((REAL *)c->bias_velocities[l], VB[l], 1, sizes[l + 1], P[l + 1]);
        }
    }
    for (int i = 0; i < n_owners; i++)
        free(owners[i]);
    free(rows);
    return 0;
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
