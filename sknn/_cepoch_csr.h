/* A dense X's CSR form for the sparse first layer, built and checked in C.
 *
 * Included once by _cepoch.c, after its buffer helpers (Views, get_buffer).
 * count_row_nonzeros and fill_csr build the form in two passes, so Python
 * allocates the arrays between them; csr_matches tells whether a kept form
 * still holds exactly X's nonzeros (see training_input in _compiled.py).
 */

/* X as the first view: a C-contiguous 2-d float32 or float64 array. */
static int get_dense_rows(Views *v, PyObject *X, Py_buffer **xv)
{
    if (PyObject_GetBuffer(X, &v->views[0], PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return -1;
    v->n = 1;
    *xv = &v->views[0];
    if ((*xv)->ndim != 2 || ((*xv)->itemsize != 4 && (*xv)->itemsize != 8)) {
        PyErr_SetString(PyExc_ValueError, "X must be 2-d float32 or float64");
        return -1;
    }
    return 0;
}

/* Parse (X, indptr, indices, data) and take their buffers (indices and data
 * writable to fill them); NULL with an exception set on error. */
static Views *dense_and_csr_views(PyObject *args, int writable, Py_buffer **xv,
                                  Py_buffer **pv, Py_buffer **iv, Py_buffer **dv)
{
    PyObject *X, *indptr, *indices, *data;
    void *buf;
    if (!PyArg_ParseTuple(args, "OOOO", &X, &indptr, &indices, &data))
        return NULL;
    Views *v = (Views *)PyMem_Calloc(1, sizeof(Views));
    if (v == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    if (get_dense_rows(v, X, xv) < 0 ||
        get_buffer(v, indptr, 8, 0, 0, "indptr", &buf, pv) < 0 ||
        get_buffer(v, indices, 4, writable, 0, "indices", &buf, iv) < 0 ||
        get_buffer(v, data, (*xv)->itemsize, writable, 0, "data", &buf, dv) < 0) {
        free_views(v, NULL);
        return NULL;
    }
    return v;
}

/* Dense rows to CSR, in two passes, so Python can allocate between them. */
static PyObject *py_count_row_nonzeros(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *X, *indptr;
    if (!PyArg_ParseTuple(args, "OO", &X, &indptr))
        return NULL;
    Views *v = (Views *)PyMem_Calloc(1, sizeof(Views));
    if (v == NULL)
        return PyErr_NoMemory();
    PyObject *result = NULL;
    Py_buffer *xv, *pv;
    void *xp, *pp;
    if (get_dense_rows(v, X, &xv) < 0)
        goto done;
    xp = xv->buf;
    if (get_buffer(v, indptr, 8, 1, 0, "indptr", &pp, &pv) < 0)
        goto done;
    if (n_items(pv) != xv->shape[0] + 1) {
        PyErr_SetString(PyExc_ValueError, "indptr must be one longer than X has rows");
        goto done;
    }
    {
        const int64_t rows = xv->shape[0], cols = xv->shape[1];
        int64_t *ip = (int64_t *)pp, total = 0;
        const int dbl = xv->itemsize == 8;
        Py_BEGIN_ALLOW_THREADS
        ip[0] = 0;
        for (int64_t r = 0; r < rows; r++) {
            int64_t count = 0;
            if (dbl) {
                const double *x = (const double *)xp + r * cols;
                for (int64_t k = 0; k < cols; k++)
                    count += x[k] != 0.0;
            } else {
                const float *x = (const float *)xp + r * cols;
                for (int64_t k = 0; k < cols; k++)
                    count += x[k] != 0.0f;
            }
            total += count;
            ip[r + 1] = total;
        }
        Py_END_ALLOW_THREADS
    }
    result = Py_NewRef(Py_None);
done:
    return free_views(v, result);
}

static PyObject *py_fill_csr(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer *xv, *pv, *iv, *dv;
    Views *v = dense_and_csr_views(args, 1, &xv, &pv, &iv, &dv);
    if (v == NULL)
        return NULL;
    PyObject *result = NULL;
    void *xp = xv->buf, *pp = pv->buf, *ipp = iv->buf, *dp = dv->buf;
    {
        const int64_t rows = xv->shape[0], cols = xv->shape[1];
        const int64_t *ip = (const int64_t *)pp;
        /* branch-free: every input is written, and the next one overwrites it
         * unless it was nonzero; hence a row's worth of spare slots at the end */
        if (n_items(pv) != rows + 1 || n_items(iv) < ip[rows] + cols ||
            n_items(dv) < ip[rows] + cols) {
            PyErr_SetString(PyExc_ValueError, "indptr does not match the arrays");
            goto done;
        }
        int32_t *ix = (int32_t *)ipp;
        const int dbl = xv->itemsize == 8;
        int64_t q = 0;
        Py_BEGIN_ALLOW_THREADS
        for (int64_t r = 0; r < rows; r++) {
            if (q != ip[r]) /* X changed since indptr was counted */
                break;
            if (dbl) {
                const double *x = (const double *)xp + r * cols;
                double *d = (double *)dp;
                for (int64_t k = 0; k < cols; k++) {
                    ix[q] = (int32_t)k;
                    d[q] = x[k];
                    q += x[k] != 0.0;
                }
            } else {
                const float *x = (const float *)xp + r * cols;
                float *d = (float *)dp;
                for (int64_t k = 0; k < cols; k++) {
                    ix[q] = (int32_t)k;
                    d[q] = x[k];
                    q += x[k] != 0.0f;
                }
            }
        }
        Py_END_ALLOW_THREADS
        if (q != ip[rows]) {
            PyErr_SetString(PyExc_ValueError, "X changed while its CSR form was built");
            goto done;
        }
    }
    result = Py_NewRef(Py_None);
done:
    return free_views(v, result);
}

/* A row matches when it has as many nonzeros as its CSR row and X holds
 * each (index, value) pair of it: the indices are strictly increasing (the
 * fill wrote them), so the two sets of nonzeros are then the same. The count
 * vectorises, and only the nonzeros are looked up. */
#define CSR_MATCHES_ROWS(REAL_T)                                                       \
    do {                                                                               \
        const REAL_T *d = (const REAL_T *)dp;                                          \
        for (int64_t r = 0; r < rows && same; r++) {                                   \
            const REAL_T *x = (const REAL_T *)xp + r * cols;                           \
            int64_t count = 0;                                                         \
            for (int64_t k = 0; k < cols; k++)                                         \
                count += x[k] != (REAL_T)0;                                            \
            same = count == ip[r + 1] - ip[r];                                         \
            for (int64_t q = ip[r]; q < ip[r + 1] && same; q++)                        \
                same = ix[q] >= 0 && ix[q] < cols && x[ix[q]] == d[q] &&              \
                       (q == ip[r] || ix[q] > ix[q - 1]);                              \
        }                                                                              \
    } while (0)

/* Whether the CSR arrays still hold exactly the nonzeros of X. */
static PyObject *py_csr_matches(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer *xv, *pv, *iv, *dv;
    Views *v = dense_and_csr_views(args, 0, &xv, &pv, &iv, &dv);
    if (v == NULL)
        return NULL;
    void *xp = xv->buf, *dp = dv->buf;
    const int64_t rows = xv->shape[0], cols = xv->shape[1];
    const int64_t *ip = (const int64_t *)pv->buf;
    const int32_t *ix = (const int32_t *)iv->buf;
    int same = n_items(pv) == rows + 1 && n_items(iv) >= ip[rows] &&
               n_items(dv) >= ip[rows];
    if (same) {
        Py_BEGIN_ALLOW_THREADS
        if (xv->itemsize == 8)
            CSR_MATCHES_ROWS(double);
        else
            CSR_MATCHES_ROWS(float);
        Py_END_ALLOW_THREADS
    }
    return free_views(v, PyBool_FromLong(same));
}
