/* sknn._cepoch: the training loop of sknn/_network.py in C, one call per block.
 *
 * Python hands over the arrays (weights, biases, velocities, X or its CSR
 * form, the one-hot targets, the epoch's row order, the sample weights'
 * row scales and the dropout uniforms drawn from the estimator's numpy
 * Generator) and this module runs every mini-batch step of the block
 * without returning to Python. Only the buffer protocol is used, so
 * building needs a C compiler and Python's headers, nothing else.
 *
 * The kernel is compiled twice per dtype: for the baseline instruction set
 * of the target (SSE2 on x86-64) and, on x86 with GCC or clang, for
 * AVX2 + FMA; the variant is chosen once, at import, from the CPU's flags.
 *
 * This file holds the module and its argument checks. The kernel is in
 * _cepoch_kernel.h (its arithmetic), _cepoch_layers.h (one thread's steps)
 * and _cepoch_block.h (a block, its buffers and threads); _cepoch_sync.h has
 * the threads' barrier and _cepoch_csr.h the CSR form of a dense X.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if !defined(_WIN32)
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif
#define HAVE_THREADS 1
#endif

enum { ACT_SIGMOID = 0, ACT_TANH = 1, ACT_RELU = 2 };
enum { REG_NONE = 0, REG_L2 = 1, REG_L1 = 2 };
#define LAZY_SCALE_FLOOR 1e-4
#define MAX_LAYERS 64
#define MAX_THREADS 16
/* barrier polls before a waiting thread starts yielding its core */
#define SPIN_LIMIT 4000
/* and how often a polling thread offers its core to a thread waiting for one */
#define YIELD_EVERY 64

/* 32-byte vectors (GCC and clang vector extensions): one AVX register, or
 * two SSE2 registers in the baseline build. */
typedef float vec_f32 __attribute__((vector_size(32), aligned(32)));
typedef int32_t ivec_f32 __attribute__((vector_size(32), aligned(32)));
typedef double vec_f64 __attribute__((vector_size(32), aligned(32)));
typedef int64_t ivec_f64 __attribute__((vector_size(32), aligned(32)));

typedef struct {
    int n_layers;
    int64_t sizes[MAX_LAYERS + 1];
    int activation, softmax, quadratic, reg, lazy_scale;
    double rate, mu, dropout, row_scale;
    int64_t start, stop, batch_size;
    int64_t first_batch, cost_stride; /* sampled costs: global batch % stride == 0 */
    double *costs;                    /* one slot per batch of the block, or NULL */
    const void *X;
    const int64_t *indptr;
    const int32_t *indices;
    const void *data;
    const void *Y;
    const int64_t *order;
    const void *row_scales;
    const void *uniforms;
    void *weights[MAX_LAYERS], *biases[MAX_LAYERS];
    void **weight_velocities, **bias_velocities;
    void *weight_velocity_store[MAX_LAYERS], *bias_velocity_store[MAX_LAYERS];
    int n_threads; /* asked for; the kernel may use fewer */
} Block;

#include "_cepoch_sync.h"

/* float32, baseline */
#define REAL float
#define REAL_IS_FLOAT 1
#define REAL_EPS FLT_EPSILON
#define VEC vec_f32
#define IVEC ivec_f32
#define LANES 8
#define EXP expf
#define TANH tanhf
#define NAME(x) x##_f32_base
#include "_cepoch_kernel.h"

/* float64, baseline */
#define REAL double
#define REAL_IS_FLOAT 0
#define REAL_EPS DBL_EPSILON
#define VEC vec_f64
#define IVEC ivec_f64
#define LANES 4
#define EXP exp
#define TANH tanh
#define NAME(x) x##_f64_base
#include "_cepoch_kernel.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_AVX2_VARIANT 1
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif

#define REAL float
#define REAL_IS_FLOAT 1
#define REAL_EPS FLT_EPSILON
#define VEC vec_f32
#define IVEC ivec_f32
#define LANES 8
#define EXP expf
#define TANH tanhf
#define NAME(x) x##_f32_avx2
#include "_cepoch_kernel.h"

#define REAL double
#define REAL_IS_FLOAT 0
#define REAL_EPS DBL_EPSILON
#define VEC vec_f64
#define IVEC ivec_f64
#define LANES 4
#define EXP exp
#define TANH tanh
#define NAME(x) x##_f64_avx2
#include "_cepoch_kernel.h"

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif

typedef int (*kernel_fn)(const Block *);
static kernel_fn kernel_f32 = train_block_f32_base;
static kernel_fn kernel_f64 = train_block_f64_base;
static const char *isa_name = "baseline";

static int cpu_has_avx2(void)
{
#ifdef HAVE_AVX2_VARIANT
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

static int select_isa(const char *name)
{
    if (strcmp(name, "baseline") == 0) {
        kernel_f32 = train_block_f32_base;
        kernel_f64 = train_block_f64_base;
        isa_name = "baseline";
        return 0;
    }
#ifdef HAVE_AVX2_VARIANT
    if (strcmp(name, "avx2") == 0 && cpu_has_avx2()) {
        kernel_f32 = train_block_f32_avx2;
        kernel_f64 = train_block_f64_avx2;
        isa_name = "avx2";
        return 0;
    }
#endif
    return -1;
}

/* ------------------------------------------------------------------ */
/* Python wrapper                                                       */

typedef struct {
    Py_buffer views[4 * MAX_LAYERS + 16];
    int n;
} Views;

static void release_views(Views *v)
{
    for (int i = 0; i < v->n; i++)
        PyBuffer_Release(&v->views[i]);
    v->n = 0;
}

/* Release and free the views of one call; return ``result``. */
static PyObject *free_views(Views *v, PyObject *result)
{
    release_views(v);
    PyMem_Free(v);
    return result;
}

/* A C-contiguous buffer of the given item size, or NULL for None when allowed. */
static int get_buffer(Views *v, PyObject *obj, Py_ssize_t itemsize, int writable,
                      int optional, const char *what, void **ptr, Py_buffer **view_out)
{
    *ptr = NULL;
    if (view_out)
        *view_out = NULL;
    if (obj == Py_None) {
        if (optional)
            return 0;
        PyErr_Format(PyExc_TypeError, "%s must not be None", what);
        return -1;
    }
    Py_buffer *view = &v->views[v->n];
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0)
        return -1;
    v->n++;
    if (view->itemsize != itemsize) {
        PyErr_Format(PyExc_TypeError, "%s has items of %zd bytes, expected %zd", what,
                     view->itemsize, itemsize);
        return -1;
    }
    *ptr = view->buf;
    if (view_out)
        *view_out = view;
    return 0;
}

static Py_ssize_t n_items(const Py_buffer *view)
{
    return view ? view->len / view->itemsize : 0;
}

static PyObject *py_train_block(PyObject *self, PyObject *args)
{
    (void)self;
    Block c;
    memset(&c, 0, sizeof c);
    int is_double;
    PyObject *X, *indptr, *indices, *data, *Y, *order, *row_scales, *uniforms;
    PyObject *weights, *biases, *weight_velocities, *bias_velocities;
    PyObject *costs;
    Py_ssize_t start, stop, batch_size, first_batch, cost_stride;
    if (!PyArg_ParseTuple(args, "iiiiiddddinnnOOOOOOOOOOOOnnOi", &is_double, &c.activation,
                          &c.softmax, &c.quadratic, &c.reg, &c.rate, &c.mu, &c.dropout,
                          &c.row_scale, &c.lazy_scale, &start, &stop, &batch_size, &X,
                          &indptr, &indices, &data, &Y, &order, &row_scales, &uniforms,
                          &weights, &biases, &weight_velocities, &bias_velocities,
                          &first_batch, &cost_stride, &costs, &c.n_threads))
        return NULL;
    c.first_batch = first_batch;
    c.cost_stride = cost_stride < 1 ? 1 : cost_stride;
    c.start = start;
    c.stop = stop;
    c.batch_size = batch_size;
    const Py_ssize_t real = is_double ? 8 : 4;
    if (!PyList_Check(weights) || !PyList_Check(biases)) {
        PyErr_SetString(PyExc_TypeError, "weights and biases must be lists");
        return NULL;
    }
    const Py_ssize_t L = PyList_GET_SIZE(weights);
    if (L < 1 || L > MAX_LAYERS || PyList_GET_SIZE(biases) != L) {
        PyErr_SetString(PyExc_ValueError, "need 1 to 64 layers, one bias per layer");
        return NULL;
    }
    const int momentum = weight_velocities != Py_None;
    if (momentum && (!PyList_Check(weight_velocities) || !PyList_Check(bias_velocities) ||
                     PyList_GET_SIZE(weight_velocities) != L ||
                     PyList_GET_SIZE(bias_velocities) != L)) {
        PyErr_SetString(PyExc_ValueError, "velocities must be lists like the weights");
        return NULL;
    }
    c.n_layers = (int)L;
    Views *v = (Views *)PyMem_Calloc(1, sizeof(Views));
    if (v == NULL)
        return PyErr_NoMemory();
    PyObject *result = NULL;
    Py_buffer *view;
    void *ptr;
    for (Py_ssize_t l = 0; l < L; l++) {
        if (get_buffer(v, PyList_GET_ITEM(weights, l), real, 1, 0, "weights", &c.weights[l],
                       &view) < 0)
            goto done;
        if (view->ndim != 2 || (l > 0 && view->shape[0] != c.sizes[l])) {
            PyErr_SetString(PyExc_ValueError, "weights must be 2-d and chained");
            goto done;
        }
        c.sizes[l] = view->shape[0];
        c.sizes[l + 1] = view->shape[1];
        if (get_buffer(v, PyList_GET_ITEM(biases, l), real, 1, 0, "biases", &c.biases[l],
                       &view) < 0)
            goto done;
        if (n_items(view) != c.sizes[l + 1]) {
            PyErr_SetString(PyExc_ValueError, "a bias does not match its weights");
            goto done;
        }
        if (momentum) {
            if (get_buffer(v, PyList_GET_ITEM(weight_velocities, l), real, 1, 0,
                           "weight velocities", &c.weight_velocity_store[l], &view) < 0)
                goto done;
            if (n_items(view) != c.sizes[l] * c.sizes[l + 1]) {
                PyErr_SetString(PyExc_ValueError, "a velocity does not match its weights");
                goto done;
            }
            if (get_buffer(v, PyList_GET_ITEM(bias_velocities, l), real, 1, 0,
                           "bias velocities", &c.bias_velocity_store[l], &view) < 0)
                goto done;
            if (n_items(view) != c.sizes[l + 1]) {
                PyErr_SetString(PyExc_ValueError, "a velocity does not match its biases");
                goto done;
            }
        }
    }
    if (momentum) {
        c.weight_velocities = c.weight_velocity_store;
        c.bias_velocities = c.bias_velocity_store;
    }
    Py_ssize_t n_rows;
    if (X != Py_None) {
        if (get_buffer(v, X, real, 0, 0, "X", &ptr, &view) < 0)
            goto done;
        c.X = ptr;
        if (view->ndim != 2 || view->shape[1] != c.sizes[0]) {
            PyErr_SetString(PyExc_ValueError, "X must be 2-d with one column per input");
            goto done;
        }
        n_rows = view->shape[0];
    } else {
        if (get_buffer(v, indptr, 8, 0, 0, "indptr", &ptr, &view) < 0)
            goto done;
        c.indptr = (const int64_t *)ptr;
        n_rows = n_items(view) - 1;
        Py_buffer *index_view, *data_view;
        if (get_buffer(v, indices, 4, 0, 0, "indices", &ptr, &index_view) < 0)
            goto done;
        c.indices = (const int32_t *)ptr;
        if (get_buffer(v, data, real, 0, 0, "data", &ptr, &data_view) < 0)
            goto done;
        c.data = ptr;
        if (n_rows < 0 || n_items(index_view) < c.indptr[n_rows] ||
            n_items(data_view) < c.indptr[n_rows]) {
            PyErr_SetString(PyExc_ValueError, "inconsistent CSR arrays");
            goto done;
        }
    }
    if (get_buffer(v, Y, real, 0, 0, "Y", &ptr, &view) < 0)
        goto done;
    c.Y = ptr;
    if (n_items(view) != n_rows * c.sizes[L]) {
        PyErr_SetString(PyExc_ValueError, "Y must have one row per sample of X");
        goto done;
    }
    if (get_buffer(v, order, 8, 0, 0, "order", &ptr, &view) < 0)
        goto done;
    c.order = (const int64_t *)ptr;
    if (batch_size < 1 || start < 0 || stop > n_items(view) || (stop - start) % batch_size) {
        PyErr_SetString(PyExc_ValueError, "the block must be whole batches of order");
        goto done;
    }
    for (Py_ssize_t i = start; i < stop; i++) {
        if (c.order[i] < 0 || c.order[i] >= n_rows) {
            PyErr_SetString(PyExc_IndexError, "order holds a row outside X");
            goto done;
        }
    }
    if (get_buffer(v, row_scales, real, 0, 1, "row_scales", &ptr, &view) < 0)
        goto done;
    c.row_scales = ptr;
    if (view && n_items(view) < stop - start) {
        PyErr_SetString(PyExc_ValueError, "row_scales must cover the block");
        goto done;
    }
    if (get_buffer(v, uniforms, real, 0, 1, "uniforms", &ptr, &view) < 0)
        goto done;
    c.uniforms = ptr;
    if (c.dropout > 0.0) {
        int64_t hidden = 0;
        for (int l = 1; l < L; l++)
            hidden += c.sizes[l];
        if (view == NULL || n_items(view) < (stop - start) * hidden) {
            PyErr_SetString(PyExc_ValueError, "dropout needs a uniform per hidden output");
            goto done;
        }
    }
    if (get_buffer(v, costs, 8, 1, 1, "costs", &ptr, &view) < 0)
        goto done;
    c.costs = (double *)ptr;
    if (view && n_items(view) < (stop - start) / batch_size) {
        PyErr_SetString(PyExc_ValueError, "costs needs a slot per batch of the block");
        goto done;
    }
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = is_double ? kernel_f64(&c) : kernel_f32(&c);
    Py_END_ALLOW_THREADS
    if (status < 0) {
        PyErr_NoMemory();
        goto done;
    }
    result = Py_NewRef(Py_None);
done:
    return free_views(v, result);
}

static PyObject *py_set_isa(PyObject *self, PyObject *arg)
{
    (void)self;
    const char *name = PyUnicode_AsUTF8(arg);
    if (name == NULL)
        return NULL;
    if (select_isa(name) < 0) {
        PyErr_Format(PyExc_ValueError, "instruction set %R is not available here", arg);
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *py_isa(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
    return PyUnicode_FromString(isa_name);
}

static PyObject *py_available_isas(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
    if (cpu_has_avx2())
        return Py_BuildValue("(ss)", "baseline", "avx2");
    return Py_BuildValue("(s)", "baseline");
}


#include "_cepoch_csr.h"

static PyObject *py_max_threads(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
#ifdef HAVE_THREADS
    return PyLong_FromLong(MAX_THREADS);
#else
    return PyLong_FromLong(1);
#endif
}

static PyMethodDef methods[] = {
    {"max_threads", py_max_threads, METH_NOARGS,
     "The most threads train_block splits a first layer over (1: built without threads)."},
    {"train_block", py_train_block, METH_VARARGS,
     "Run whole mini-batches of SGD in place; see sknn._compiled."},
    {"set_isa", py_set_isa, METH_O, "Use the 'baseline' or the 'avx2' kernels."},
    {"isa", py_isa, METH_NOARGS, "The instruction set of the kernels in use."},
    {"available_isas", py_available_isas, METH_NOARGS,
     "The instruction sets this CPU can run."},
    {"count_row_nonzeros", py_count_row_nonzeros, METH_VARARGS,
     "Write the CSR indptr of a dense 2-d array."},
    {"fill_csr", py_fill_csr, METH_VARARGS,
     "Write the CSR indices and data of a dense 2-d array, given its indptr."},
    {"csr_matches", py_csr_matches, METH_VARARGS,
     "Whether CSR arrays hold exactly the nonzeros of a dense 2-d array."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_cepoch", "sknn's compiled training loop.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__cepoch(void)
{
    if (cpu_has_avx2())
        select_isa("avx2");
    return PyModule_Create(&module);
}
