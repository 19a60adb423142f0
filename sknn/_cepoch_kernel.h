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

/* Cephes' tanhf: an odd polynomial below |x| = 0.625, where 1 - 2 / (e^2|x| + 1)
 * would lose digits to cancellation, that formula above; about 2 ulp. A NaN
 * takes the polynomial and passes through; +-inf give +-1 (exp_vector clamps). */
INLINE VEC NAME(tanh_vector)(VEC x)
{
    IVEC negative = x < 0.0f;
    VEC magnitude = NAME(select)(negative, -x, x);
    VEC e = magnitude + magnitude;
    EXP_VEC(e);
    VEC large = 1.0f - 2.0f / (e + 1.0f);
    large = NAME(select)(negative, -large, large);
    VEC s = x * x;
    VEC p = -5.70498872745E-3f * s + 2.06390887954E-2f;
    p = p * s - 5.37397155531E-2f;
    p = p * s + 1.33314422036E-1f;
    p = p * s - 3.33332819422E-1f;
    VEC small = p * s * x + x;
    return NAME(select)(magnitude > 0.625f, large, small);
}
#define TANH_VEC(v) ((v) = NAME(tanh_vector)(v))
#else
#define EXP_VEC(v)                                                                     \
    do {                                                                               \
        for (int lane_ = 0; lane_ < LANES; lane_++)                                    \
            (v)[lane_] = EXP((v)[lane_]);                                              \
    } while (0)
#define TANH_VEC(v)                                                                    \
    do {                                                                               \
        for (int lane_ = 0; lane_ < LANES; lane_++)                                    \
            (v)[lane_] = TANH((v)[lane_]);                                             \
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
        for (int64_t v = 0; v < n_vectors; v++) {
            VEC z = LOAD(a + v * LANES);
            TANH_VEC(z);
            STORE(a + v * LANES, z);
        }
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
#define CALL(NC)                                                                           \
    NAME(forward_tile)(rows + i, W + col, b + col, Z + i * z_pitch + col, n_in, w_pitch,   \
                       z_pitch, s, 2, NC)
            DISPATCH_NC(CALL, nc)
#undef CALL
        }
        if (i < m) {
#define CALL(NC)                                                                           \
    NAME(forward_tile)(rows + i, W + col, b + col, Z + i * z_pitch + col, n_in, w_pitch,   \
                       z_pitch, s, 1, NC)
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

/* -- the block: its layers, then its threads ---------------------------- */

#include "_cepoch_layers.h"
#include "_cepoch_block.h"

#undef INLINE
#undef LOAD
#undef STORE
#undef DISPATCH_NC
#undef EXP_VEC
#undef TANH_VEC
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
