/* One block of mini-batch SGD steps for a fully connected network.
 *
 * Included by _cepoch.c once per (REAL, instruction set) pair, with REAL set
 * to float or double and NAME(x) giving every function a distinct name. The
 * arithmetic is the numpy core's (sknn/_network.py, sknn/optimizers.py), step
 * for step, in the same order, so both paths agree to rounding:
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
 * The first layer reads its input either densely, one row of X per sample,
 * or through the sample's nonzero (index, value) pairs of a CSR matrix. In
 * the sparse form, the forward product and the weight step touch only the
 * rows of W^1 that belong to nonzero inputs; L2 without momentum then keeps
 * W^1 = s V and decays the scalar s instead of every weight (as
 * scikit-learn's SGDClassifier keeps ``wscale``), folding s back into the
 * weights when it gets small and at the end of the block. L1 and momentum
 * touch every weight each step by definition, so there the sparse form saves
 * the products only and a dense pass applies the penalty and the velocity.
 */

static inline REAL NAME(activate_hidden)(int act, REAL z)
{
    switch (act) {
    case ACT_SIGMOID:
        return (REAL)1 / ((REAL)1 + EXP(-z));
    case ACT_TANH:
        return TANH(z);
    default:
        return z < (REAL)0 ? (REAL)0 : z;
    }
}

static inline REAL NAME(derivative_from_output)(int act, REAL a)
{
    switch (act) {
    case ACT_SIGMOID:
        return ((REAL)1 - a) * a;
    case ACT_TANH:
        return (REAL)1 - a * a;
    default:
        return a > (REAL)0 ? (REAL)1 : (REAL)0;
    }
}

static inline REAL NAME(sign)(REAL w)
{
    return (REAL)((w > (REAL)0) - (w < (REAL)0));
}

/* out[j] = b[j] + sum_k in[k] W[k, j] for one row, W of shape (n_in, n_out). */
static void NAME(dense_row_product)(const REAL *restrict in, const REAL *restrict W,
                                    const REAL *restrict b, REAL *restrict out,
                                    int64_t n_in, int64_t n_out)
{
    for (int64_t j = 0; j < n_out; j++)
        out[j] = (REAL)0;
    for (int64_t k = 0; k < n_in; k++) {
        const REAL x = in[k];
        const REAL *restrict w = W + k * n_out;
        for (int64_t j = 0; j < n_out; j++)
            out[j] += x * w[j];
    }
    for (int64_t j = 0; j < n_out; j++)
        out[j] += b[j];
}

/* The penalty and the step applied to one row of weights (and velocities). */
static inline void NAME(update_row)(REAL *restrict w, REAL *restrict v,
                                    const REAL *restrict step, int64_t n,
                                    int reg, REAL rate, REAL decay, REAL mu)
{
    if (v == NULL) {
        if (reg == REG_L2) {
            for (int64_t j = 0; j < n; j++)
                w[j] = w[j] * decay - step[j];
        } else if (reg == REG_L1) {
            for (int64_t j = 0; j < n; j++)
                w[j] = (w[j] - NAME(sign)(w[j]) * rate) - step[j];
        } else {
            for (int64_t j = 0; j < n; j++)
                w[j] -= step[j];
        }
    } else {
        if (reg == REG_L2) {
            for (int64_t j = 0; j < n; j++) {
                v[j] = (v[j] * mu - w[j] * rate) - step[j];
                w[j] += v[j];
            }
        } else if (reg == REG_L1) {
            for (int64_t j = 0; j < n; j++) {
                v[j] = (v[j] * mu - NAME(sign)(w[j]) * rate) - step[j];
                w[j] += v[j];
            }
        } else {
            for (int64_t j = 0; j < n; j++) {
                v[j] = v[j] * mu - step[j];
                w[j] += v[j];
            }
        }
    }
}

/* The rows of A^{l-1}^T Delta^l, one weight row at a time, applied as they come. */
static void NAME(update_dense_layer)(REAL *restrict W, REAL *restrict V,
                                     const REAL *restrict in, const REAL *restrict delta,
                                     REAL *restrict step, int64_t m, int64_t n_in,
                                     int64_t n_out, int reg, REAL rate, REAL decay,
                                     REAL mu)
{
    for (int64_t k = 0; k < n_in; k++) {
        for (int64_t j = 0; j < n_out; j++)
            step[j] = (REAL)0;
        for (int64_t i = 0; i < m; i++) {
            const REAL x = in[i * n_in + k];
            const REAL *restrict d = delta + i * n_out;
            for (int64_t j = 0; j < n_out; j++)
                step[j] += x * d[j];
        }
        NAME(update_row)(W + k * n_out, V ? V + k * n_out : NULL, step, n_out, reg,
                         rate, decay, mu);
    }
}

static void NAME(update_bias)(REAL *restrict b, REAL *restrict vb,
                              const REAL *restrict delta, REAL *restrict step,
                              int64_t m, int64_t n, REAL mu)
{
    for (int64_t j = 0; j < n; j++)
        step[j] = (REAL)0;
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++)
            step[j] += delta[i * n + j];
    NAME(update_row)(b, vb, step, n, REG_NONE, (REAL)0, (REAL)1, mu);
}

static int NAME(train_block)(const Block *c)
{
    const int L = c->n_layers;
    const int64_t m = c->batch_size;
    const int64_t *sizes = c->sizes;
    const int64_t n_in0 = sizes[0], n_out0 = sizes[1];
    const REAL rate = (REAL)c->rate, decay = (REAL)(1.0 - c->rate), mu = (REAL)c->mu;
    const REAL keep_scale = (REAL)(1.0 / (1.0 - c->dropout));
    const REAL p = (REAL)c->dropout;
    const int dropout = c->dropout > 0.0;
    const int sparse = c->indptr != NULL;
    const int lazy = c->lazy_scale;
    REAL **W = (REAL **)c->weights, **B = (REAL **)c->biases;
    REAL **VW = (REAL **)c->weight_velocities, **VB = (REAL **)c->bias_velocities;
    const REAL *X = (const REAL *)c->X, *Xdata = (const REAL *)c->data;
    const REAL *Y = (const REAL *)c->Y;
    const REAL *row_scales = (const REAL *)c->row_scales;
    const REAL *uniforms = (const REAL *)c->uniforms;
    const int64_t n_out = sizes[L];

    /* activations, deltas, dropout masks and dropped outputs of every layer */
    int64_t width_total = 0, widest = 0;
    for (int l = 1; l <= L; l++) {
        width_total += sizes[l];
        if (sizes[l] > widest)
            widest = sizes[l];
    }
    const int64_t gradient_rows = sparse && !lazy && (c->weight_velocities || c->reg != REG_NONE)
                                      ? n_in0 * n_out0
                                      : 0;
    size_t n_scratch = (size_t)(4 * m * width_total + widest + gradient_rows);
    REAL *scratch = (REAL *)calloc(n_scratch ? n_scratch : 1, sizeof(REAL));
    REAL **A = (REAL **)malloc(sizeof(REAL *) * 4 * (size_t)(L + 1));
    if (scratch == NULL || A == NULL) {
        free(scratch);
        free(A);
        return -1;
    }
    REAL **D = A + (L + 1), **M = D + (L + 1), **Q = M + (L + 1);
    {
        REAL *cursor = scratch;
        for (int l = 0; l < L; l++) {
            const int64_t size = m * sizes[l + 1];
            A[l] = cursor;
            D[l] = cursor + size;
            M[l] = cursor + 2 * size;
            Q[l] = cursor + 3 * size;
            cursor += 4 * size;
        }
    }
    REAL *step = scratch + 4 * m * width_total;
    REAL *G0 = step + widest; /* the first layer's step, when a dense pass applies it */
    REAL s = (REAL)1;         /* W^1 = s V, with V stored in W[0], when lazy */

    const int64_t n_batches = (c->stop - c->start) / m;
    for (int64_t batch = 0; batch < n_batches; batch++) {
        const int64_t *rows = c->order + c->start + batch * m;
        const REAL *u = dropout ? uniforms + batch * m * (width_total - n_out) : NULL;

        /* forward, first layer */
        for (int64_t i = 0; i < m; i++) {
            REAL *restrict z = A[0] + i * n_out0;
            const int64_t row = rows[i];
            if (!sparse) {
                NAME(dense_row_product)(X + row * n_in0, W[0], B[0], z, n_in0, n_out0);
                continue;
            }
            for (int64_t j = 0; j < n_out0; j++)
                z[j] = (REAL)0;
            for (int64_t q = c->indptr[row]; q < c->indptr[row + 1]; q++) {
                const REAL x = Xdata[q];
                const REAL *restrict w = W[0] + (int64_t)c->indices[q] * n_out0;
                for (int64_t j = 0; j < n_out0; j++)
                    z[j] += x * w[j];
            }
            for (int64_t j = 0; j < n_out0; j++)
                z[j] = z[j] * s + B[0][j];
        }
        /* forward, activations, dropout and the later layers */
        for (int l = 0; l < L; l++) {
            const int64_t n = sizes[l + 1];
            REAL *restrict a = A[l];
            if (l > 0) {
                const REAL *in = dropout ? Q[l - 1] : A[l - 1];
                for (int64_t i = 0; i < m; i++)
                    NAME(dense_row_product)(in + i * sizes[l], W[l], B[l], a + i * n,
                                            sizes[l], n);
            }
            if (l < L - 1) {
                for (int64_t e = 0; e < m * n; e++)
                    a[e] = NAME(activate_hidden)(c->activation, a[e]);
                if (dropout) {
                    for (int64_t e = 0; e < m * n; e++) {
                        M[l][e] = u[e] >= p ? keep_scale : (REAL)0;
                        Q[l][e] = a[e] * M[l][e];
                    }
                    u += m * n;
                }
            } else if (c->softmax) {
                for (int64_t i = 0; i < m; i++) {
                    REAL *restrict r = a + i * n, top = r[0], total = (REAL)0;
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
                for (int64_t e = 0; e < m * n; e++)
                    a[e] = (REAL)1 / ((REAL)1 + EXP(-a[e]));
            }
        }

        /* backward: the output error (BP1), scaled by eta / m or the row's weight */
        {
            REAL *restrict d = D[L - 1];
            const REAL *restrict a = A[L - 1];
            for (int64_t i = 0; i < m; i++) {
                const REAL *restrict y = Y + rows[i] * n_out;
                const REAL scale =
                    row_scales ? row_scales[batch * m + i]
                               : (REAL)c->row_scale;
                for (int64_t j = 0; j < n_out; j++) {
                    const int64_t e = i * n_out + j;
                    REAL delta = a[e] - y[j];
                    if (c->quadratic)
                        delta = delta * (((REAL)1 - a[e]) * a[e]);
                    d[e] = delta * scale;
                }
            }
        }
        for (int l = L - 1; l >= 0; l--) {
            const int64_t n = sizes[l + 1], n_prev = sizes[l];
            if (l > 0) {
                /* BP2 with the weights before this step's update */
                const REAL *restrict a = A[l - 1];
                REAL *restrict d_prev = D[l - 1];
                for (int64_t i = 0; i < m; i++) {
                    for (int64_t k = 0; k < n_prev; k++) {
                        const REAL *restrict w = W[l] + k * n;
                        const REAL *restrict d = D[l] + i * n;
                        REAL total = (REAL)0;
                        for (int64_t j = 0; j < n; j++)
                            total += d[j] * w[j];
                        const int64_t e = i * n_prev + k;
                        total *= NAME(derivative_from_output)(c->activation, a[e]);
                        if (dropout)
                            total *= M[l - 1][e];
                        d_prev[e] = total;
                    }
                }
                NAME(update_dense_layer)(W[l], VW ? VW[l] : NULL,
                                         dropout ? Q[l - 1] : A[l - 1], D[l], step, m,
                                         n_prev, n, c->reg, rate, decay, mu);
            } else if (!sparse) {
                /* the first layer reads X's rows in place */
                for (int64_t k = 0; k < n_prev; k++) {
                    for (int64_t j = 0; j < n; j++)
                        step[j] = (REAL)0;
                    for (int64_t i = 0; i < m; i++) {
                        const REAL x = X[rows[i] * n_prev + k];
                        const REAL *restrict d = D[0] + i * n;
                        for (int64_t j = 0; j < n; j++)
                            step[j] += x * d[j];
                    }
                    NAME(update_row)(W[0] + k * n, VW ? VW[0] + k * n : NULL, step, n,
                                     c->reg, rate, decay, mu);
                }
            } else if (gradient_rows) {
                /* scatter the step of the touched rows, then one dense pass */
                for (int64_t i = 0; i < m; i++) {
                    const int64_t row = rows[i];
                    const REAL *restrict d = D[0] + i * n;
                    for (int64_t q = c->indptr[row]; q < c->indptr[row + 1]; q++) {
                        const REAL x = Xdata[q];
                        REAL *restrict g = G0 + (int64_t)c->indices[q] * n;
                        for (int64_t j = 0; j < n; j++)
                            g[j] += x * d[j];
                    }
                }
                NAME(update_row)(W[0], VW ? VW[0] : NULL, G0, n_prev * n, c->reg, rate,
                                 decay, mu);
                for (int64_t e = 0; e < n_prev * n; e++)
                    G0[e] = (REAL)0;
            } else {
                /* only the touched rows move; L2's decay goes into s */
                if (lazy) {
                    s *= decay;
                    if (s < (REAL)LAZY_SCALE_FLOOR) {
                        for (int64_t e = 0; e < n_prev * n; e++)
                            W[0][e] *= s;
                        s = (REAL)1;
                    }
                }
                const REAL inverse_scale = (REAL)1 / s;
                for (int64_t i = 0; i < m; i++) {
                    const int64_t row = rows[i];
                    const REAL *restrict d = D[0] + i * n;
                    for (int64_t q = c->indptr[row]; q < c->indptr[row + 1]; q++) {
                        const REAL x = Xdata[q] * inverse_scale;
                        REAL *restrict w = W[0] + (int64_t)c->indices[q] * n;
                        for (int64_t j = 0; j < n; j++)
                            w[j] -= x * d[j];
                    }
                }
            }
            NAME(update_bias)(B[l], VB ? VB[l] : NULL, D[l], step, m, n, mu);
        }
    }
    if (s != (REAL)1)
        for (int64_t e = 0; e < n_in0 * n_out0; e++)
            W[0][e] *= s;
    free(A);
    free(scratch);
    return 0;
}
