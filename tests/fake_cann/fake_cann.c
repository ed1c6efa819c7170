/* A recording stand-in for the CANN libraries, for the marshalling tests of conformance/backends/aclnn. It proves
 * what the backend passes, not what a device does. One object exports every function; tests/fake_cann/__init__.py
 * lays it out under either library layout (the old libascendcl, libnnopbase, libopapi, libhccl, or the split
 * libopapi_{math,nn,transformer} + libhcomm + libhccl), and can build it with chosen functions left out.
 *
 * - Device memory is host memory (aligned_alloc); streams, communicators and executors are small structs.
 * - Every call appends one JSON line to the file named by FAKE_CANN_LOG (if set): pointers are reported as ids
 *   (m<k>[+offset] for device memory, t<k> tensors, a<k> int arrays, e<k> executors, s<k> streams, c<k>
 *   communicators), dims as arrays, and copied bytes as an FNV-1a 64 hash ("fnv", hex), so a test can check
 *   the content of every transfer without the log holding the data.
 * - The operators' execute fills each output's storage with bytes derived from x1 (out[i] = x1[i % n] ^ tag,
 *   tag 0x11 for y/output/residual, 0x22 for normOut), so the copy back to the host is verifiable.
 * Behaviour injection (read at every call, so a test can change it between calls):
 *   FAKE_CANN_FAIL="fn=code[+N][@device],..."  fn returns code (a pointer-returning fn returns NULL);
 *                                          +N: not its first N calls since aclInit; @device: only on that
 *                                          device (the one set by aclrtSetDevice)
 *   FAKE_CANN_SYNC_DELAY_MS=N              aclrtSynchronizeStreamWithTimeout takes N ms; past its timeout it
 *                                          returns 507046 (ACL_ERROR_RT_STREAM_SYNC_TIMEOUT) after the timeout
 *   FAKE_CANN_WORKSPACE=N                  the workspace size the operators report (default 4096)
 *   FAKE_CANN_DEVICE_COUNT=N               what aclrtGetDeviceCount answers (default 8)
 *   FAKE_CANN_DRIVER_VERSION=V             aclsysGetVersionStr("driver") (default 25.0.fake; "" -> not found)
 *   FAKE_CANN_CORES=N                      the device's AI (cube) cores (default 24, an Atlas A2)
 *   FAKE_CANN_HANG_UNLESS_ALL_CORES=1      an MC2 operator launched while fewer than all cores are free hangs:
 *                                          a synchronise of its stream never succeeds (with a timeout > 0 it
 *                                          returns 507046 after it; with -1 it blocks for good) until
 *                                          aclrtStreamAbort; the execute's log line says "hung":true
 *
 * Core accounting (--busy-cores, conformance/backends/busy.py): aclrtSetStreamResLimit(stream, 0 = CUBE_CORE, N)
 * gives a stream a limit of N cores; aclrtUseStreamResInCurrentThread(stream) makes the calling thread's launches
 * run under it (their log lines carry "cores":N), aclrtUnuseStreamResInCurrentThread ends that. A stream with
 * pending launches holds its limit's cores (all of them without a limit); the free cores an MC2 launch sees are
 * FAKE_CANN_CORES minus what the other streams of its device hold (logged as "freeCores" when not all are free).
 *
 * Streams: every launch (an operator's execute, HcclAllReduce) leaves a task pending on its stream until a
 * synchronise that succeeds or aclrtStreamAbort. aclrtFree logs "busy" (streams of its device with pending
 * tasks: the runtime frees at once, without waiting for them, hicann/runtime@681ef761
 * docs/zh/api_ref/11-01_device_memory_malloc_and_free.md:612) and aclrtDestroyStream logs "pending" (the documents
 * ask for a synchronise first, docs/zh/api_ref/06_stream_management.md:262), so tests can check the order of the
 * failure paths; aclrtDestroyStreamForce destroys a stream without waiting (same file, line 305).
 *
 * The benchmark chain's operators (aclnnMatmul, aclnnAdd, aclnnAddRmsNorm, aclnnQuantMatmulV4) fill each output
 * from their first input: out[i] = in[i % n] ^ tag (Matmul 0x33, Add 0x55, QuantMatmulV4 0x66, AddRmsNorm
 * xOut 0x11, yOut 0x22, rstdOut 0x44), so the data flow through the chain is checkable; HcclAllReduce copies
 * sendBuf to recvBuf (one process per rank: nothing to sum). Every launch on a stream (an operator's execute,
 * HcclAllReduce) advances a launch counter; aclrtRecordEvent stamps an event with it and
 * aclrtEventElapsedTime(ms, start, end) answers 0.25 ms per launch between the two records, only once the end
 * event was synchronised (aclrtSynchronizeEvent), else ACL_ERROR_INVALID_PARAM.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ROOT_INFO_BYTES 4108
#define COMM_NAME_BYTES 128
#define SYNC_TIMEOUT 507046
#define ACL_ERROR_INVALID_PARAM 100000
#define ACL_ERROR_REPEAT_INITIALIZE 100002
/* HcclResult: hicann/hcomm@2b912e7d include/hccl/hccl_types.h:26 (HCCL_E_PTR = 2, "empty pointer"), :28
 * (HCCL_E_INTERNAL = 4) */
#define HCCL_E_PTR 2
#define HCCL_E_INTERNAL 4

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static __thread int current_device = -1; /* per thread, as aclrtSetDevice is */
static int init_count = 0;
static int next_id = 1;
static long launch_tick = 0; /* launches so far (operator executes and HcclAllReduce) */

/* ---- JSON log ------------------------------------------------------------------------------------- */

typedef struct { char *buf; size_t len, cap; } Str;

static void put(Str *s, const char *fmt, ...) {
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(s->buf + s->len, s->cap - s->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < s->cap - s->len) { s->len += n; return; }
        s->cap = s->cap * 2 + (n > 0 ? (size_t)n : 0) + 256;
        s->buf = realloc(s->buf, s->cap);
    }
}

static Str begin(const char *fn) {
    Str s = {malloc(256), 0, 256};
    s.buf[0] = 0;
    put(&s, "{\"fn\":\"%s\",\"dev\":%d", fn, current_device);
    return s;
}

static void put_str(Str *s, const char *key, const char *v) {
    if (!v) { put(s, ",\"%s\":null", key); return; }
    put(s, ",\"%s\":\"", key);
    for (; *v; v++) {
        if (*v == '"' || *v == '\\') put(s, "\\%c", *v);
        else if ((unsigned char)*v < 0x20) put(s, "\\u%04x", *v);
        else put(s, "%c", *v);
    }
    put(s, "\"");
}

static void put_dims(Str *s, const char *key, const int64_t *d, uint64_t n) {
    if (!d) { put(s, ",\"%s\":null", key); return; }
    put(s, ",\"%s\":[", key);
    for (uint64_t i = 0; i < n; i++) put(s, i ? ",%lld" : "%lld", (long long)d[i]);
    put(s, "]");
}

static void finish(Str *s) {
    put(s, "}\n");
    const char *path = getenv("FAKE_CANN_LOG");
    if (path && *path) {
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
        if (fd >= 0) { ssize_t w = write(fd, s->buf, s->len); (void)w; close(fd); }
    }
    free(s->buf);
}

static uint64_t fnv(const void *p, size_t n) {
    const unsigned char *b = p;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) { h ^= b[i]; h *= 1099511628211ULL; }
    return h;
}

/* ---- behaviour injection -------------------------------------------------------------------------- */

static struct { const char *fn; long calls; } counters[64]; /* calls per function, for "+N" */

static long count_call(const char *fn) {
    for (int i = 0; i < 64; i++) {
        if (!counters[i].fn) counters[i].fn = fn;
        if (counters[i].fn == fn || strcmp(counters[i].fn, fn) == 0) return ++counters[i].calls;
    }
    return 0;
}

static int injected(const char *fn) {
    long nth = count_call(fn); /* callers hold the lock */
    const char *spec = getenv("FAKE_CANN_FAIL");
    if (!spec) return 0;
    size_t len = strlen(fn);
    for (const char *p = spec; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
        if (strncmp(p, fn, len) == 0 && p[len] == '=') {
            char *end;
            long code = strtol(p + len + 1, &end, 10);
            if (*end == '+' && nth <= strtol(end + 1, &end, 10)) continue; /* the first N calls succeed */
            if (*end == '@' && strtol(end + 1, NULL, 10) != current_device) continue;
            return (int)code;
        }
    }
    return 0;
}

static long env_long(const char *name, long dflt) {
    const char *v = getenv(name);
    return v && *v ? strtol(v, NULL, 10) : dflt;
}

/* ---- device memory -------------------------------------------------------------------------------- */

typedef struct { char *p; size_t size; int id; int live; } Alloc;
static Alloc *allocs;
static size_t n_allocs, cap_allocs;

static void mem_name(const void *p, char *out, size_t n) {
    if (!p) { snprintf(out, n, "null"); return; }
    for (size_t i = 0; i < n_allocs; i++) {
        Alloc *a = &allocs[i];
        if (a->live && (const char *)p >= a->p && (const char *)p < a->p + (a->size ? a->size : 1)) {
            size_t off = (const char *)p - a->p;
            if (off) snprintf(out, n, "m%d+%zu", a->id, off); else snprintf(out, n, "m%d", a->id);
            return;
        }
    }
    snprintf(out, n, "host");
}

static Alloc *find_alloc(const void *p) {
    for (size_t i = 0; i < n_allocs; i++)
        if (allocs[i].live && allocs[i].p == p) return &allocs[i];
    return NULL;
}

/* ---- runtime (libascendcl) ------------------------------------------------------------------------ */

/* pending: launches not yet synchronised (or aborted); limit: cube cores (aclrtSetStreamResLimit, 0: none);
 * stuck: an MC2 launch that hangs (FAKE_CANN_HANG_UNLESS_ALL_CORES) */
typedef struct { int id, dev; long pending; int limit, stuck; } Stream;
static __thread Stream *used_res; /* the stream whose core limit this thread's launches run under */
static Stream *streams[256]; /* live streams of this process */

static void stream_add(Stream *st) {
    for (int i = 0; i < 256; i++) if (!streams[i]) { streams[i] = st; return; }
}

static void stream_remove(Stream *st) {
    for (int i = 0; i < 256; i++) if (streams[i] == st) streams[i] = NULL;
}

static int busy_streams(void) { /* of the calling thread's device: ranks may be threads of one process */
    int n = 0;
    for (int i = 0; i < 256; i++) if (streams[i] && streams[i]->pending && streams[i]->dev == current_device) n++;
    return n;
}

static void launched_on(void *stream) {
    if (stream) ((Stream *)stream)->pending++;
}

static int free_cores(const Stream *self) { /* of the calling thread's device, seen by a launch on `self` */
    int total = (int)env_long("FAKE_CANN_CORES", 24), held = 0;
    for (int i = 0; i < 256; i++) {
        Stream *st = streams[i];
        if (st && st != self && st->pending && st->dev == current_device) held += st->limit ? st->limit : total;
    }
    return held >= total ? 0 : total - held;
}

int aclrtSetStreamResLimit(void *stream, int type, uint32_t value) {
    pthread_mutex_lock(&lock);
    Stream *st = stream;
    int rc = st ? injected("aclrtSetStreamResLimit") : ACL_ERROR_INVALID_PARAM;
    if (!rc && type == 0) st->limit = (int)value;
    Str s = begin("aclrtSetStreamResLimit");
    put(&s, ",\"stream\":\"s%d\",\"type\":%d,\"value\":%u,\"status\":%d", st ? st->id : -1, type, value, rc);
    finish(&s);
    pthread_mutex_unlock(&lock);
    return rc;
}

static int use_res(const char *fn, void *stream, int use) {
    pthread_mutex_lock(&lock);
    Stream *st = stream;
    int rc = st ? injected(fn) : ACL_ERROR_INVALID_PARAM;
    if (!rc) used_res = use ? st : NULL;
    Str s = begin(fn);
    put(&s, ",\"stream\":\"s%d\",\"status\":%d", st ? st->id : -1, rc);
    finish(&s);
    pthread_mutex_unlock(&lock);
    return rc;
}

int aclrtUseStreamResInCurrentThread(void *stream) { return use_res("aclrtUseStreamResInCurrentThread", stream, 1); }
int aclrtUnuseStreamResInCurrentThread(void *stream) {
    return use_res("aclrtUnuseStreamResInCurrentThread", stream, 0);
}

int aclInit(const char *config) {
    pthread_mutex_lock(&lock);
    int rc = injected("aclInit");
    if (!rc) rc = init_count++ ? ACL_ERROR_REPEAT_INITIALIZE : 0; /* as ACL: one init per process */
    if (!rc) memset(counters, 0, sizeof counters); /* "+N" counts from here */
    Str s = begin("aclInit");
    put_str(&s, "config", config);
    put(&s, ",\"status\":%d", rc);
    finish(&s);
    pthread_mutex_unlock(&lock);
    return rc;
}

int aclFinalize(void) {
    pthread_mutex_lock(&lock);
    int rc = injected("aclFinalize");
    if (!rc && init_count > 0) init_count = 0;
    Str s = begin("aclFinalize");
    put(&s, ",\"status\":%d", rc);
    finish(&s);
    pthread_mutex_unlock(&lock);
    return rc;
}

int aclrtSetDevice(int32_t device) {
    pthread_mutex_lock(&lock);
    int rc = injected("aclrtSetDevice");
    if (!rc) current_device = device;
    Str s = begin("aclrtSetDevice");
    put(&s, ",\"device\":%d,\"status\":%d", device, rc);
    finish(&s);
    pthread_mutex_unlock(&lock);
    return rc;
}

int aclrtResetDevice(int32_t device) {
    pthread_mutex_lock(&lock);
    Str s = begin("aclrtResetDevice");
    put(&s, ",\"device\":%d,\"status\":0", device);
    finish(&s);
    pthread_mutex_unlock(&lock);
    return 0;
}

int aclrtCreateStream(void **stream) {
    pthread_mutex_lock(&lock);
    int rc = injected("aclrtCreateStream");
    Stream *st = NULL;
    if (!rc) { st = calloc(1, sizeof *st); st->id = next_id++; st->dev = current_device; *stream = st; stream_add(st); }
    Str s = begin("aclrtCreateStream");
    if (st) put(&s, ",\"stream\":\"s%d\"", st->id);
    put(&s, ",\"status\":%d", rc);
    finish(&s);
    pthread_mutex_unlock(&lock);
    return rc;
}

static int destroy_stream(const char *fn, void *stream) {
    pthread_mutex_lock(&lock);
    Stream *st = stream;
    int rc = st ? injected(fn) : ACL_ERROR_INVALID_PARAM;
    Str s = begin(fn);
    put(&s, ",\"stream\":\"s%d\",\"pending\":%ld,\"status\":%d", st ? st->id : -1, st ? st->pending : 0L, rc);
    finish(&s);
    if (!rc) { stream_remove(st); free(st); }
    pthread_mutex_unlock(&lock);
    return rc;
}

int aclrtDestroyStream(void *stream) { return destroy_stream("aclrtDestroyStream", stream); }
int aclrtDestroyStreamForce(void *stream) { return destroy_stream("aclrtDestroyStreamForce", stream); }

int aclrtStreamAbort(void *stream) {
    pthread_mutex_lock(&lock);
    Stream *st = stream;
    int rc = st ? injected("aclrtStreamAbort") : ACL_ERROR_INVALID_PARAM;
    Str s = begin("aclrtStreamAbort");
    put(&s, ",\"stream\":\"s%d\",\"pending\":%ld,\"status\":%d", st ? st->id : -1, st ? st->pending : 0L, rc);
    finish(&s);
    if (!rc) { st->pending = 0; st->stuck = 0; } /* running tasks stopped, queued ones dropped */
    pthread_mutex_unlock(&lock);
    return rc;
}

int aclrtGetDeviceCount(uint32_t *count) {
    pthread_mutex_lock(&lock);
    int rc = count ? injected("aclrtGetDeviceCount") : ACL_ERROR_INVALID_PARAM;
    if (!rc) *count = (uint32_t)env_long("FAKE_CANN_DEVICE_COUNT", 8);
    Str s = begin("aclrtGetDeviceCount");
    if (!rc) put(&s, ",\"count\":%u", *count);
    put(&s, ",\"status\":%d", rc);
    finish(&s);
    pthread_mutex_unlock(&lock);
    return rc;
}

/* version strings of the fake's "packages": runtime 8.0.fake, driver $FAKE_CANN_DRIVER_VERSION (default 25.0.fake) */
int aclsysGetVersionStr(char *pkg, char *version) {
    pthread_mutex_lock(&lock);
    int rc = (pkg && version) ? injected("aclsysGetVersionStr") : ACL_ERROR_INVALID_PARAM;
    const char *v = NULL;
    if (!rc) {
        const char *driver = getenv("FAKE_CANN_DRIVER_VERSION");
        if (strcmp(pkg, "runtime") == 0) v = "8.0.fake";
        else if (strcmp(pkg, "driver") == 0) v = driver ? driver : "25.0.fake";
        if (!v || !*v) rc = ACL_ERROR_INVALID_PARAM;
        else snprintf(version, 128, "%s", v);
    }
    Str s = begin("aclsysGetVersionStr");
    put_str(&s, "pkg", pkg);
    if (!rc) put_str(&s, "version", v);
    put(&s, ",\"status\":%d", rc);
    finish(&s);
    pthread_mutex_unlock(&lock);
    return rc;
}

int aclrtSynchronizeStreamWithTimeout(void *stream, int32_t timeout_ms) {
    long delay = env_long("FAKE_CANN_SYNC_DELAY_MS", 0);
    pthread_mutex_lock(&lock);
    int rc = injected("aclrtSynchronizeStreamWithTimeout");
    int stuck = stream && ((Stream *)stream)->stuck;
    pthread_mutex_unlock(&lock);
    if (!rc && stuck) { /* a hung MC2 kernel: never finishes; with a timeout, the runtime gives up after it */
        if (timeout_ms <= 0) for (;;) sleep(3600);
        delay = (long)timeout_ms + 1;
    }
    if (!rc && delay > 0) {
        long wait = (timeout_ms > 0 && delay > timeout_ms) ? timeout_ms : delay;
        struct timespec ts = {wait / 1000, (wait % 1000) * 1000000L};
        nanosleep(&ts, NULL); /* outside the lock: other ranks' threads go on */
        if (timeout_ms > 0 && delay > timeout_ms) rc = SYNC_TIMEOUT;
    }
    pthread_mutex_lock(&lock);
    if (!rc && stream) ((Stream *)stream)->pending = 0;
    Str s = begin("aclrtSynchronizeStreamWithTimeout");
    put(&s, ",\"stream\":\"s%d\",\"timeout\":%d,\"status\":%d", stream ? ((Stream *)stream)->id : -1,
        timeout_ms, rc);
    finish(&s);
    pthread_mutex_unlock(&lock);
    return rc;
}

int aclrtMalloc(void **ptr, size_t size, int policy) {
    pthread_mutex_lock(&lock);
    int rc = injected("aclrtMalloc");
    if (!rc && size == 0) rc = ACL_ERROR_INVALID_PARAM; /* as ACL: no zero-byte allocations */
    Alloc *a = NULL;
    if (!rc) {
        if (n_allocs == cap_allocs) {
            cap_allocs = cap_allocs * 2 + 64;
            allocs = realloc(allocs, cap_allocs * sizeof *allocs);
        }
        a = &allocs[n_allocs++];
        a->p = aligned_alloc(32, (size + 31) / 32 * 32);
        memset(a->p, 0xA5, size); /* never zero: an uncopied byte stands out */
        a->size = size; a->id = next_id++; a->live = 1;
        *ptr = a->p;
    }
    Str s = begin("aclrtMalloc");
    if (a) put(&s, ",\"ptr\":\"m%d\"", a->id);
    put(&s, ",\"size\":%zu,\"policy\":%d,\"status\":%d", size, policy, rc);
    finish(&s);
    pthread_mutex_unlock(&lock);
    return rc;
}

int aclrtFree(void *ptr) {
    pthread_mutex_lock(&lock);
    Alloc *a = find_alloc(ptr);
    int rc = a ? 0 : ACL_ERROR_INVALID_PARAM;
    Str s = begin("aclrtFree");
    if (a) put(&s, ",\"ptr\":\"m%d\"", a->id); else put(&s, ",\"ptr\":\"unknown\"");
    put(&s, ",\"busy\":%d,\"status\":%d", busy_streams(), rc);
    finish(&s);
    if (a) { free(a->p); a->live = 0; }
    pthread_mutex_unlock(&lock);
    return rc;
}

int aclrtMemcpy(void *dst, size_t dest_max, const void *src, size_t count, int kind) {
    pthread_mutex_lock(&lock);
    int rc = injected("aclrtMemcpy");
    if (!rc && count > dest_max) rc = ACL_ERROR_INVALID_PARAM;
    char dn[64], sn[64];
    mem_name(dst, dn, sizeof dn);
    mem_name(src, sn, sizeof sn);
    Str s = begin("aclrtMemcpy");
    put(&s, ",\"dst\":\"%s\",\"destMax\":%zu,\"src\":\"%s\",\"count\":%zu,\"kind\":%d", dn, dest_max, sn, count, kind);
    if (!rc) { memcpy(dst, src, count); put(&s, ",\"fnv\":\"%016llx\"", (unsigned long long)fnv(src, count)); }
    put(&s, ",\"status\":%d", rc);
    finish(&s);
    pthread_mutex_unlock(&lock);
    return rc;
}

/* ---- tensors and arrays (libnnopbase) ------------------------------------------------------------- */

typedef struct {
    int id, dtype, format, ndim, nstorage;
    int64_t dims[8], strides[8], storage[8], offset;
    char *data;
} Tensor;

typedef struct { int id; uint64_t n; int64_t v[8]; } IntArray;

static int itemsize(int dtype) {
    switch (dtype) {
    case 2: case 4: case 12: return 1;    /* INT8, UINT8, BOOL */
    case 1: case 6: case 7: case 27: return 2; /* FLOAT16, INT16, UINT16, BF16 */
    case 0: case 3: case 8: return 4;     /* FLOAT, INT32, UINT32 */
    default: return 8;                    /* INT64, UINT64, DOUBLE */
    }
}

static size_t storage_bytes(const Tensor *t) {
    size_t n = 1;
    for (int i = 0; i < t->nstorage; i++) n *= (size_t)t->storage[i];
    return n * itemsize(t->dtype);
}

void *aclCreateTensor(const int64_t *view, uint64_t ndim, int dtype, const int64_t *stride, int64_t offset,
                      int format, const int64_t *storage, uint64_t nstorage, void *data) {
    pthread_mutex_lock(&lock);
    Tensor *t = NULL;
    if (!injected("aclCreateTensor") && ndim <= 8 && nstorage <= 8) {
        t = calloc(1, sizeof *t);
        t->id = next_id++; t->dtype = dtype; t->format = format; t->offset = offset; t->data = data;
        t->ndim = (int)ndim; t->nstorage = (int)nstorage;
        memcpy(t->dims, view, ndim * sizeof *view);
        if (stride) memcpy(t->strides, stride, ndim * sizeof *stride);
        memcpy(t->storage, storage, nstorage * sizeof *storage);
    }
    char dn[64];
    mem_name(data, dn, sizeof dn);
    Str s = begin("aclCreateTensor");
    if (t) put(&s, ",\"tensor\":\"t%d\"", t->id); else put(&s, ",\"tensor\":null");
    put_dims(&s, "view", view, ndim);
    put(&s, ",\"dtype\":%d", dtype);
    put_dims(&s, "strides", stride, ndim);
    put(&s, ",\"offset\":%lld,\"format\":%d", (long long)offset, format);
    put_dims(&s, "storage", storage, nstorage);
    put(&s, ",\"data\":\"%s\"", dn);
    finish(&s);
    pthread_mutex_unlock(&lock);
    return t;
}

int aclDestroyTensor(const void *tensor) {
    pthread_mutex_lock(&lock);
    Str s = begin("aclDestroyTensor");
    put(&s, ",\"tensor\":\"t%d\"", tensor ? ((const Tensor *)tensor)->id : -1);
    finish(&s);
    free((void *)tensor);
    pthread_mutex_unlock(&lock);
    return 0;
}

void *aclCreateIntArray(const int64_t *value, uint64_t size) {
    pthread_mutex_lock(&lock);
    IntArray *a = NULL;
    if (!injected("aclCreateIntArray") && size <= 8) {
        a = calloc(1, sizeof *a);
        a->id = next_id++; a->n = size;
        memcpy(a->v, value, size * sizeof *value);
    }
    Str s = begin("aclCreateIntArray");
    if (a) put(&s, ",\"array\":\"a%d\"", a->id); else put(&s, ",\"array\":null");
    put_dims(&s, "value", value, size);
    finish(&s);
    pthread_mutex_unlock(&lock);
    return a;
}

int aclDestroyIntArray(const void *array) {
    pthread_mutex_lock(&lock);
    Str s = begin("aclDestroyIntArray");
    put(&s, ",\"array\":\"a%d\"", array ? ((const IntArray *)array)->id : -1);
    finish(&s);
    free((void *)array);
    pthread_mutex_unlock(&lock);
    return 0;
}

/* ---- operators (libopapi_transformer, libopapi_nn, libopapi_math; or libopapi) ---------------------- */

enum { OP_MARN, OP_INPLACE, OP_V3, OP_TRANS, OP_CHAIN };
typedef struct { int id, op; const Tensor *x1, *out1, *out2, *out3; unsigned char tag1, tag2, tag3; } Executor;

static void put_tensor(Str *s, const char *key, const void *t) {
    if (t) put(s, ",\"%s\":\"t%d\"", key, ((const Tensor *)t)->id); else put(s, ",\"%s\":null", key);
}

static int workspace_result(Str *s, const char *fn, int op, const Tensor *x1, const Tensor *o1,
                            const Tensor *o2, uint64_t *ws, void **executor) {
    int rc = injected(fn);
    Executor *e = NULL;
    if (!rc) {
        e = calloc(1, sizeof *e);
        e->id = next_id++; e->op = op; e->x1 = x1; e->out1 = o1; e->out2 = o2;
        *ws = (uint64_t)env_long("FAKE_CANN_WORKSPACE", 4096);
        *executor = e;
        put(s, ",\"workspaceSize\":%llu,\"executor\":\"e%d\"", (unsigned long long)*ws, e->id);
    }
    put(s, ",\"status\":%d", rc);
    finish(s);
    pthread_mutex_unlock(&lock);
    return rc;
}

static void put_comm_attrs(Str *s, const char *group, const char *reduce_op, int64_t comm_turn,
                           int64_t stream_mode) {
    put_str(s, "group", group);
    put_str(s, "reduceOp", reduce_op);
    put(s, ",\"commTurn\":%lld,\"streamMode\":%lld", (long long)comm_turn, (long long)stream_mode);
}

int aclnnMatmulAllReduceAddRmsNormGetWorkspaceSize(const void *x1, const void *x2, const void *bias,
        const void *residual, const void *gamma, double epsilon, const char *group, const char *reduce_op,
        int64_t comm_turn, int64_t stream_mode, const void *y, const void *norm_out, uint64_t *ws,
        void **executor) {
    const char *fn = "aclnnMatmulAllReduceAddRmsNormGetWorkspaceSize";
    pthread_mutex_lock(&lock);
    Str s = begin(fn);
    put_tensor(&s, "x1", x1); put_tensor(&s, "x2", x2); put_tensor(&s, "bias", bias);
    put_tensor(&s, "residual", residual); put_tensor(&s, "gamma", gamma);
    put(&s, ",\"epsilon\":%.17g", epsilon);
    put_comm_attrs(&s, group, reduce_op, comm_turn, stream_mode);
    put_tensor(&s, "y", y); put_tensor(&s, "normOut", norm_out);
    return workspace_result(&s, fn, OP_MARN, x1, y, norm_out, ws, executor);
}

int aclnnInplaceMatmulAllReduceAddRmsNormGetWorkspaceSize(const void *x1, const void *x2, const void *bias,
        const void *residual, const void *gamma, double epsilon, const char *group, const char *reduce_op,
        int64_t comm_turn, int64_t stream_mode, const void *norm_out, uint64_t *ws, void **executor) {
    const char *fn = "aclnnInplaceMatmulAllReduceAddRmsNormGetWorkspaceSize";
    pthread_mutex_lock(&lock);
    Str s = begin(fn);
    put_tensor(&s, "x1", x1); put_tensor(&s, "x2", x2); put_tensor(&s, "bias", bias);
    put_tensor(&s, "residual", residual); put_tensor(&s, "gamma", gamma);
    put(&s, ",\"epsilon\":%.17g", epsilon);
    put_comm_attrs(&s, group, reduce_op, comm_turn, stream_mode);
    put_tensor(&s, "normOut", norm_out);
    return workspace_result(&s, fn, OP_INPLACE, x1, residual, norm_out, ws, executor);
}

int aclnnQuantMatmulAllReduceV3GetWorkspaceSize(const void *x1, const void *x2, const void *bias,
        const void *x3, const void *dequant, const void *pertoken, const void *comm1, const void *comm2,
        const char *group, const char *reduce_op, int64_t comm_turn, int64_t stream_mode, const void *output,
        uint64_t *ws, void **executor) {
    const char *fn = "aclnnQuantMatmulAllReduceV3GetWorkspaceSize";
    pthread_mutex_lock(&lock);
    Str s = begin(fn);
    put_tensor(&s, "x1", x1); put_tensor(&s, "x2", x2); put_tensor(&s, "bias", bias);
    put_tensor(&s, "x3", x3); put_tensor(&s, "dequantScale", dequant);
    put_tensor(&s, "pertokenScale", pertoken); put_tensor(&s, "commQuantScale1", comm1);
    put_tensor(&s, "commQuantScale2", comm2);
    put_comm_attrs(&s, group, reduce_op, comm_turn, stream_mode);
    put_tensor(&s, "output", output);
    return workspace_result(&s, fn, OP_V3, x1, output, NULL, ws, executor);
}

static void fill_output(const Tensor *out, const Tensor *x1, unsigned char tag) {
    if (!out || !out->data) return;
    size_t n = storage_bytes(out), m = x1 && x1->data ? storage_bytes(x1) : 0;
    unsigned char *o = (unsigned char *)out->data;
    const unsigned char *src = m ? (const unsigned char *)x1->data : NULL;
    for (size_t i = 0; i < n; i++) o[i] = (src ? src[i % m] : 0) ^ tag;
}

static int execute(const char *fn, void *workspace, uint64_t ws, void *executor, void *stream) {
    pthread_mutex_lock(&lock);
    int rc = injected(fn);
    Executor *e = executor;
    char wn[64];
    mem_name(workspace, wn, sizeof wn);
    Str s = begin(fn);
    put(&s, ",\"workspace\":\"%s\",\"workspaceSize\":%llu,\"executor\":\"e%d\",\"stream\":\"s%d\"", wn,
        (unsigned long long)ws, e ? e->id : -1, stream ? ((Stream *)stream)->id : -1);
    if (used_res) put(&s, ",\"cores\":%d", used_res->limit);
    if (!rc && e && e->op <= OP_V3 && stream) { /* an MC2 operator: does it get every core? */
        int total = (int)env_long("FAKE_CANN_CORES", 24), free = free_cores(stream);
        if (free < total) put(&s, ",\"freeCores\":%d", free);
        if (free < total && env_long("FAKE_CANN_HANG_UNLESS_ALL_CORES", 0)) {
            ((Stream *)stream)->stuck = 1;
            put(&s, ",\"hung\":true");
        }
    }
    if (!rc && e && e->op == OP_CHAIN) {
        fill_output(e->out1, e->x1, e->tag1); fill_output(e->out2, e->x1, e->tag2); fill_output(e->out3, e->x1, e->tag3);
    } else if (!rc && e && e->op != OP_TRANS) { fill_output(e->out1, e->x1, 0x11); fill_output(e->out2, e->x1, 0x22); }
    if (!rc && e && e->op != OP_TRANS) launch_tick++;
    if (!rc) launched_on(stream);
    put(&s, ",\"status\":%d", rc);
    finish(&s);
    free(e); /* as aclnn: the executor lives until its execute */
    pthread_mutex_unlock(&lock);
    return rc;
}

int aclnnMatmulAllReduceAddRmsNorm(void *w, uint64_t ws, void *e, void *st) {
    return execute("aclnnMatmulAllReduceAddRmsNorm", w, ws, e, st);
}
int aclnnInplaceMatmulAllReduceAddRmsNorm(void *w, uint64_t ws, void *e, void *st) {
    return execute("aclnnInplaceMatmulAllReduceAddRmsNorm", w, ws, e, st);
}
int aclnnQuantMatmulAllReduceV3(void *w, uint64_t ws, void *e, void *st) {
    return execute("aclnnQuantMatmulAllReduceV3", w, ws, e, st);
}

int aclnnCalculateMatmulWeightSizeV2(const void *shape, int dtype, uint64_t *size) {
    pthread_mutex_lock(&lock);
    const IntArray *a = shape;
    int rc = injected("aclnnCalculateMatmulWeightSizeV2");
    if (!rc && (!a || a->n < 2)) rc = 161002;
    Str s = begin("aclnnCalculateMatmulWeightSizeV2");
    put(&s, ",\"array\":\"a%d\",\"dtype\":%d", a ? a->id : -1, dtype);
    if (!rc) { /* device-facts 5: align(dim[-2], 16) * align(dim[-1], 32 for int8 else 16) */
        int64_t c0 = itemsize(dtype) == 1 ? 32 : 16;
        *size = (uint64_t)((a->v[a->n - 2] + 15) / 16 * 16) * (uint64_t)((a->v[a->n - 1] + c0 - 1) / c0 * c0);
        put(&s, ",\"size\":%llu", (unsigned long long)*size);
    }
    put(&s, ",\"status\":%d", rc);
    finish(&s);
    pthread_mutex_unlock(&lock);
    return rc;
}

int aclnnTransMatmulWeightGetWorkspaceSize(void *weight, uint64_t *ws, void **executor) {
    const char *fn = "aclnnTransMatmulWeightGetWorkspaceSize";
    pthread_mutex_lock(&lock);
    const Tensor *t = weight;
    Str s = begin(fn);
    put_tensor(&s, "weight", weight);
    if (t && t->data) /* the ND matrix the backend stored: rows * cols elements from the start */
        put(&s, ",\"fnv\":\"%016llx\"", (unsigned long long)fnv(t->data,
            (size_t)t->storage[0] * (size_t)t->storage[1] * itemsize(t->dtype)));
    return workspace_result(&s, fn, OP_TRANS, NULL, NULL, NULL, ws, executor);
}

int aclnnTransMatmulWeight(void *w, uint64_t ws, void *e, void *st) {
    return execute("aclnnTransMatmulWeight", w, ws, e, st);
}

/* ---- communicators (libhcomm, or libhccl) and HcclAllReduce (libhccl) ----------------------------- */

typedef struct { int id; uint32_t n_ranks, rank; char name[COMM_NAME_BYTES]; } Comm;

int HcclGetRootInfo(void *root_info) {
    pthread_mutex_lock(&lock);
    int rc = injected("HcclGetRootInfo");
    unsigned char *b = root_info;
    if (!rc) { /* recognisable: a header, then a pattern that depends on the process */
        for (int i = 0; i < ROOT_INFO_BYTES; i++) b[i] = (unsigned char)((i * 7 + getpid()) % 251);
        snprintf((char *)b, 32, "fake-root-%d", (int)getpid());
    }
    Str s = begin("HcclGetRootInfo");
    if (!rc) {
        put_str(&s, "tag", (char *)b);
        put(&s, ",\"fnv\":\"%016llx\"", (unsigned long long)fnv(b, ROOT_INFO_BYTES));
    }
    put(&s, ",\"status\":%d", rc);
    finish(&s);
    pthread_mutex_unlock(&lock);
    return rc;
}

int HcclCommInitRootInfo(uint32_t n_ranks, const void *root_info, uint32_t rank, void **comm) {
    pthread_mutex_lock(&lock);
    int rc = injected("HcclCommInitRootInfo");
    Comm *c = NULL;
    uint64_t h = fnv(root_info, ROOT_INFO_BYTES);
    if (!rc) {
        c = calloc(1, sizeof *c);
        c->id = next_id++; c->n_ranks = n_ranks; c->rank = rank;
        snprintf(c->name, sizeof c->name, "fakecomm_%08llx_r%u", (unsigned long long)(h & 0xffffffffULL), rank);
        *comm = c;
    }
    Str s = begin("HcclCommInitRootInfo");
    put(&s, ",\"nRanks\":%u,\"rank\":%u,\"fnv\":\"%016llx\"", n_ranks, rank, (unsigned long long)h);
    if (c) put(&s, ",\"comm\":\"c%d\"", c->id);
    put(&s, ",\"status\":%d", rc);
    finish(&s);
    pthread_mutex_unlock(&lock);
    return rc;
}

int HcclGetCommName(void *comm, char *name) {
    pthread_mutex_lock(&lock);
    Comm *c = comm;
    int rc = c ? injected("HcclGetCommName") : HCCL_E_PTR;
    if (!rc) memcpy(name, c->name, COMM_NAME_BYTES);
    Str s = begin("HcclGetCommName");
    put(&s, ",\"comm\":\"c%d\"", c ? c->id : -1);
    if (!rc) put_str(&s, "name", c->name);
    put(&s, ",\"status\":%d", rc);
    finish(&s);
    pthread_mutex_unlock(&lock);
    return rc;
}

int HcclCommDestroy(void *comm) {
    pthread_mutex_lock(&lock);
    int rc = comm ? injected("HcclCommDestroy") : HCCL_E_PTR;
    Str s = begin("HcclCommDestroy");
    put(&s, ",\"comm\":\"c%d\",\"status\":%d", comm ? ((Comm *)comm)->id : -1, rc);
    finish(&s);
    if (!rc) free(comm);
    pthread_mutex_unlock(&lock);
    return rc;
}


/* ---- the benchmark chain: scalars, separate operators, HcclAllReduce ----------------------------------- */

typedef struct { int id, dtype; double value; } Scalar;

void *aclCreateScalar(void *value, int dtype) {
    pthread_mutex_lock(&lock);
    Scalar *sc = NULL;
    if (!injected("aclCreateScalar") && value) {
        sc = calloc(1, sizeof *sc);
        sc->id = next_id++; sc->dtype = dtype;
        switch (dtype) {
        case 0: sc->value = *(float *)value; break;
        case 11: sc->value = *(double *)value; break;
        case 3: sc->value = *(int32_t *)value; break;
        case 9: sc->value = (double)*(int64_t *)value; break;
        default: sc->value = -1; break;
        }
    }
    Str s = begin("aclCreateScalar");
    if (sc) put(&s, ",\"scalar\":\"k%d\",\"value\":%.17g", sc->id, sc->value); else put(&s, ",\"scalar\":null");
    put(&s, ",\"dtype\":%d", dtype);
    finish(&s);
    pthread_mutex_unlock(&lock);
    return sc;
}

int aclDestroyScalar(const void *scalar) {
    pthread_mutex_lock(&lock);
    Str s = begin("aclDestroyScalar");
    put(&s, ",\"scalar\":\"k%d\"", scalar ? ((const Scalar *)scalar)->id : -1);
    finish(&s);
    free((void *)scalar);
    pthread_mutex_unlock(&lock);
    return 0;
}

static int chain_result(Str *s, const char *fn, const Tensor *src, const Tensor *o1, unsigned char t1,
                        const Tensor *o2, unsigned char t2, const Tensor *o3, unsigned char t3, uint64_t *ws,
                        void **executor) {
    int rc = workspace_result(s, fn, OP_CHAIN, src, o1, o2, ws, executor); /* unlocks */
    if (!rc) {
        pthread_mutex_lock(&lock);
        Executor *e = *executor;
        e->out3 = o3; e->tag1 = t1; e->tag2 = t2; e->tag3 = t3;
        pthread_mutex_unlock(&lock);
    }
    return rc;
}

int aclnnMatmulGetWorkspaceSize(const void *self, const void *mat2, void *out, int8_t cube_math_type, uint64_t *ws,
                                void **executor) {
    const char *fn = "aclnnMatmulGetWorkspaceSize";
    pthread_mutex_lock(&lock);
    Str s = begin(fn);
    put_tensor(&s, "self", self); put_tensor(&s, "mat2", mat2); put_tensor(&s, "out", out);
    put(&s, ",\"cubeMathType\":%d", (int)cube_math_type);
    return chain_result(&s, fn, self, out, 0x33, NULL, 0, NULL, 0, ws, executor);
}

int aclnnAddGetWorkspaceSize(const void *self, const void *other, const void *alpha, void *out, uint64_t *ws,
                             void **executor) {
    const char *fn = "aclnnAddGetWorkspaceSize";
    pthread_mutex_lock(&lock);
    Str s = begin(fn);
    put_tensor(&s, "self", self); put_tensor(&s, "other", other);
    if (alpha) put(&s, ",\"alpha\":\"k%d\"", ((const Scalar *)alpha)->id); else put(&s, ",\"alpha\":null");
    put_tensor(&s, "out", out);
    return chain_result(&s, fn, self, out, 0x55, NULL, 0, NULL, 0, ws, executor);
}

int aclnnAddRmsNormGetWorkspaceSize(const void *x1, const void *x2, const void *gamma, double epsilon, void *y_out,
                                    void *rstd_out, void *x_out, uint64_t *ws, void **executor) {
    const char *fn = "aclnnAddRmsNormGetWorkspaceSize";
    pthread_mutex_lock(&lock);
    Str s = begin(fn);
    put_tensor(&s, "x1", x1); put_tensor(&s, "x2", x2); put_tensor(&s, "gamma", gamma);
    put(&s, ",\"epsilon\":%.17g", epsilon);
    put_tensor(&s, "yOut", y_out); put_tensor(&s, "rstdOut", rstd_out); put_tensor(&s, "xOut", x_out);
    return chain_result(&s, fn, x1, x_out, 0x11, y_out, 0x22, rstd_out, 0x44, ws, executor);
}

int aclnnQuantMatmulV4GetWorkspaceSize(const void *x1, const void *x2, const void *scale, const void *offset,
                                       const void *pertoken, const void *bias, _Bool transpose_x1, _Bool transpose_x2,
                                       const void *out, uint64_t *ws, void **executor) {
    const char *fn = "aclnnQuantMatmulV4GetWorkspaceSize";
    pthread_mutex_lock(&lock);
    Str s = begin(fn);
    put_tensor(&s, "x1", x1); put_tensor(&s, "x2", x2); put_tensor(&s, "scale", scale);
    put_tensor(&s, "offset", offset); put_tensor(&s, "pertokenScale", pertoken); put_tensor(&s, "bias", bias);
    put(&s, ",\"transposeX1\":%s,\"transposeX2\":%s", transpose_x1 ? "true" : "false", transpose_x2 ? "true" : "false");
    put_tensor(&s, "out", out);
    return chain_result(&s, fn, x1, out, 0x66, NULL, 0, NULL, 0, ws, executor);
}

int aclnnMatmul(void *w, uint64_t ws, void *e, void *st) { return execute("aclnnMatmul", w, ws, e, st); }
int aclnnAdd(void *w, uint64_t ws, void *e, void *st) { return execute("aclnnAdd", w, ws, e, st); }
int aclnnAddRmsNorm(void *w, uint64_t ws, void *e, void *st) { return execute("aclnnAddRmsNorm", w, ws, e, st); }
int aclnnQuantMatmulV4(void *w, uint64_t ws, void *e, void *st) {
    return execute("aclnnQuantMatmulV4", w, ws, e, st);
}

static int hccl_itemsize(int dtype) {
    switch (dtype) {
    case 0: case 7: return 1;           /* INT8, UINT8 */
    case 1: case 3: case 8: case 11: return 2; /* INT16, FP16, UINT16, BFP16 */
    case 2: case 4: case 9: return 4;   /* INT32, FP32, UINT32 */
    default: return 8;
    }
}

int HcclAllReduce(void *send, void *recv, uint64_t count, int dtype, int op, void *comm, void *stream) {
    pthread_mutex_lock(&lock);
    int rc = comm ? injected("HcclAllReduce") : HCCL_E_PTR;
    size_t n = (size_t)count * hccl_itemsize(dtype);
    char sn[64], rn[64];
    mem_name(send, sn, sizeof sn);
    mem_name(recv, rn, sizeof rn);
    Str s = begin("HcclAllReduce");
    put(&s, ",\"send\":\"%s\",\"recv\":\"%s\",\"count\":%llu,\"dataType\":%d,\"op\":%d,\"comm\":\"c%d\",\"stream\":\"s%d\"",
        sn, rn, (unsigned long long)count, dtype, op, comm ? ((Comm *)comm)->id : -1,
        stream ? ((Stream *)stream)->id : -1);
    if (!rc && send && recv) {
        put(&s, ",\"fnv\":\"%016llx\"", (unsigned long long)fnv(send, n));
        memmove(recv, send, n);
    }
    if (!rc) { launch_tick++; launched_on(stream); }
    put(&s, ",\"status\":%d", rc);
    finish(&s);
    pthread_mutex_unlock(&lock);
    return rc;
}

/* ---- events (timing) ------------------------------------------------------------------------------- */

typedef struct { int id, recorded, synced; long tick; } Event;

int aclrtCreateEvent(void **event) {
    pthread_mutex_lock(&lock);
    int rc = injected("aclrtCreateEvent");
    Event *ev = NULL;
    if (!rc) { ev = calloc(1, sizeof *ev); ev->id = next_id++; *event = ev; }
    Str s = begin("aclrtCreateEvent");
    if (ev) put(&s, ",\"event\":\"v%d\"", ev->id);
    put(&s, ",\"status\":%d", rc);
    finish(&s);
    pthread_mutex_unlock(&lock);
    return rc;
}

int aclrtRecordEvent(void *event, void *stream) {
    pthread_mutex_lock(&lock);
    Event *ev = event;
    int rc = ev ? injected("aclrtRecordEvent") : ACL_ERROR_INVALID_PARAM;
    if (!rc) { ev->recorded = 1; ev->synced = 0; ev->tick = launch_tick; }
    Str s = begin("aclrtRecordEvent");
    put(&s, ",\"event\":\"v%d\",\"stream\":\"s%d\",\"tick\":%ld,\"status\":%d", ev ? ev->id : -1,
        stream ? ((Stream *)stream)->id : -1, launch_tick, rc);
    finish(&s);
    pthread_mutex_unlock(&lock);
    return rc;
}

int aclrtSynchronizeEvent(void *event) {
    pthread_mutex_lock(&lock);
    Event *ev = event;
    int rc = ev && ev->recorded ? injected("aclrtSynchronizeEvent") : ACL_ERROR_INVALID_PARAM;
    if (!rc) ev->synced = 1;
    Str s = begin("aclrtSynchronizeEvent");
    put(&s, ",\"event\":\"v%d\",\"status\":%d", ev ? ev->id : -1, rc);
    finish(&s);
    pthread_mutex_unlock(&lock);
    return rc;
}

int aclrtEventElapsedTime(float *ms, void *start, void *end) {
    pthread_mutex_lock(&lock);
    Event *a = start, *b = end;
    int rc = (ms && a && b && a->recorded && b->recorded && b->synced) ? injected("aclrtEventElapsedTime")
                                                                         : ACL_ERROR_INVALID_PARAM;
    if (!rc) *ms = (float)(b->tick - a->tick) * 0.25f;
    Str s = begin("aclrtEventElapsedTime");
    put(&s, ",\"start\":\"v%d\",\"end\":\"v%d\"", a ? a->id : -1, b ? b->id : -1);
    if (!rc) put(&s, ",\"ms\":%.9g", (double)*ms);
    put(&s, ",\"status\":%d", rc);
    finish(&s);
    pthread_mutex_unlock(&lock);
    return rc;
}

int aclrtDestroyEvent(void *event) {
    pthread_mutex_lock(&lock);
    Str s = begin("aclrtDestroyEvent");
    put(&s, ",\"event\":\"v%d\",\"status\":0", event ? ((Event *)event)->id : -1);
    finish(&s);
    free(event);
    pthread_mutex_unlock(&lock);
    return 0;
}
