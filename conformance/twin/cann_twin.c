/* The CANN twin: one fake CANN runtime for a CPU machine, serving the real torch_npu and the suite's ctypes backend.
 *
 * Compiled by conformance/twin/build.py as C++ (`cc -x c++`), against the CANN headers the torch_npu wheel ships
 * (torch_npu/include/third_party/{acl,hccl}/inc): every function those headers declare is defined here with the
 * header's prototype, so a wrong prototype is a compile error. The HCCL header is C++ only, hence the C++ mode; the
 * code itself is plain C. Functions no shipped header declares (nnopbase's aclCreateTensor family, the aclnn
 * operators, rt* and the twin's own entry points) carry their prototype and its source here.
 *
 * - Device memory is host memory. A "device" is a number (aclrtSetDevice, per thread); 8 of them unless
 *   MC2_TWIN_DEVICE_COUNT says otherwise.
 * - Streams execute a launch at once, in the calling thread, but a kernel failure is kept on the stream and returned
 *   by the next aclrtSynchronizeStream / aclrtSynchronizeDevice, as a device reports it; the launch returns 0.
 * - Events are stamped with CLOCK_MONOTONIC when recorded; aclrtEventElapsedTime answers the difference in ms.
 * - HCCL: communicators between processes over one POSIX shared-memory segment per communicator, named in the root
 *   info. Collectives are an allgather through per-rank slots, reduced locally in rank order (so every rank computes
 *   bit-identical results; fp16/bf16 accumulate in fp32).
 * - aclnn operators: every GetWorkspaceSize records its arguments in an executor (twin_exec below) and hands it to
 *   one callback into Python (conformance/twin/bridge.py); the execute hands it over again with the stream. If no
 *   callback is registered when the first operator runs, the library imports conformance.twin.bridge through the
 *   Python C API of the process it lives in (resolved with dlsym, under the GIL).
 * - The MC2 operators' wrappers are generated from the suite's operator records into cann_twin_ops.h.
 */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/futex.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "acl/acl.h"
#include "acl/acl_op_compiler.h"
#include "acl/acl_prof.h"
#include "acl/acl_rt.h"
#include "profiling/aprof_pub.h"
#include "hccl/hccl.h"

extern "C" {

#define TWIN_EXPORT __attribute__((visibility("default")))

/* ---- errors and logging ---------------------------------------------------------------------------------- */

/* aclGetRecentErrMsg: thread-level by default, messages pile up newest first until read, and a read clears them
 * (hicann/runtime@681ef761 docs/zh/api_ref/13_exception_handling.md:56-64; 02_initialization_and_deinitialization.md:409
 * for the thread-level default). */
static __thread char last_error[4096];
static __thread char returned_error[4096];

static void push_error(const char *message) {
    char older[sizeof last_error];
    snprintf(older, sizeof older, "%s", last_error);
    if (older[0]) snprintf(last_error, sizeof last_error, "%s\n%s", message, older);
    else snprintf(last_error, sizeof last_error, "%s", message);
}

static void set_error(const char *fmt, ...) {
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    push_error(message);
    if (getenv("MC2_TWIN_TRACE")) fprintf(stderr, "[cann-twin] error: %s\n", message);
}

static void trace(const char *fmt, ...) {
    if (!getenv("MC2_TWIN_TRACE")) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[cann-twin] ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

const char *aclGetRecentErrMsg() {
    if (!last_error[0]) return NULL;
    memcpy(returned_error, last_error, sizeof returned_error);
    last_error[0] = 0;
    return returned_error;
}

void aclAppLog(aclLogLevel logLevel, const char *func, const char *file, uint32_t line, const char *fmt, ...) {
    /* torch_npu's ASCEND_LOG* lines; shown with MC2_TWIN_TRACE (they say what it tried and fell back from) */
    if (!getenv("MC2_TWIN_TRACE")) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[cann-twin] log%d %s:%u %s: ", (int)logLevel, file, line, func);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

static int env_int(const char *name, int fallback) {
    const char *v = getenv(name);
    return v && *v ? atoi(v) : fallback;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- devices, contexts, version ---------------------------------------------------------------------------- */

#define TWIN_MAX_DEVICES 64
static __thread int current_device = -1;
static int device_contexts[TWIN_MAX_DEVICES]; /* a context is the address of its device's slot */

static int device_count(void) {
    int n = env_int("MC2_TWIN_DEVICE_COUNT", 8);
    return n < 1 ? 1 : (n > TWIN_MAX_DEVICES ? TWIN_MAX_DEVICES : n);
}

aclError aclInit(const char *configPath) { (void)configPath; return ACL_SUCCESS; }
aclError aclFinalize() { return ACL_SUCCESS; }

aclError aclrtSetDevice(int32_t deviceId) {
    if (deviceId < 0 || deviceId >= device_count()) {
        set_error("aclrtSetDevice: device %d does not exist (the twin has %d; MC2_TWIN_DEVICE_COUNT)", deviceId,
                  device_count());
        return ACL_ERROR_INVALID_PARAM;
    }
    current_device = deviceId;
    return ACL_SUCCESS;
}

aclError aclrtGetDevice(int32_t *deviceId) {
    if (!deviceId) return ACL_ERROR_INVALID_PARAM;
    if (current_device < 0) return ACL_ERROR_RT_CONTEXT_NULL;
    *deviceId = current_device;
    return ACL_SUCCESS;
}

aclError aclrtResetDevice(int32_t deviceId) { (void)deviceId; return ACL_SUCCESS; }

aclError aclrtGetDeviceCount(uint32_t *count) {
    if (!count) return ACL_ERROR_INVALID_PARAM;
    *count = (uint32_t)device_count();
    return ACL_SUCCESS;
}

aclError aclrtGetCurrentContext(aclrtContext *context) {
    if (!context) return ACL_ERROR_INVALID_PARAM;
    if (current_device < 0) return ACL_ERROR_RT_CONTEXT_NULL;
    *context = &device_contexts[current_device];
    return ACL_SUCCESS;
}

aclError aclrtSetCurrentContext(aclrtContext context) {
    int *slot = (int *)context;
    if (slot < device_contexts || slot >= device_contexts + TWIN_MAX_DEVICES) return ACL_ERROR_INVALID_PARAM;
    current_device = (int)(slot - device_contexts);
    return ACL_SUCCESS;
}

/* An Atlas A2 training part (device-facts: the MC2 operators' documented product line). */
const char *aclrtGetSocName() {
    const char *v = getenv("MC2_TWIN_SOC_NAME");
    return v && *v ? v : "Ascend910B1";
}

/* Core counts of the path model's a2-24c platform (conformance/sim/cann/paths.py: 24 cube, 48 vector cores),
 * MC2_TWIN_CORES overriding the cube count; the L2 size is not modelled (0). */
aclError aclGetDeviceCapability(uint32_t deviceId, aclDeviceInfo deviceInfo, int64_t *value) {
    (void)deviceId;
    if (!value) return ACL_ERROR_INVALID_PARAM;
    int cores = env_int("MC2_TWIN_CORES", 24);
    *value = deviceInfo == ACL_DEVICE_INFO_AI_CORE_NUM ? cores : deviceInfo == ACL_DEVICE_INFO_VECTOR_CORE_NUM ? 2 * cores : 0;
    return ACL_SUCCESS;
}

aclError aclrtGetMemInfo(aclrtMemAttr attr, size_t *free_bytes, size_t *total) {
    (void)attr;
    size_t gib = (size_t)env_int("MC2_TWIN_DEVICE_GIB", 64);
    if (free_bytes) *free_bytes = gib << 30;
    if (total) *total = gib << 30;
    return ACL_SUCCESS;
}

aclError aclrtDeviceCanAccessPeer(int32_t *canAccessPeer, int32_t deviceId, int32_t peerDeviceId) {
    (void)deviceId;
    (void)peerDeviceId;
    if (canAccessPeer) *canAccessPeer = 1;
    return ACL_SUCCESS;
}

aclError aclrtDeviceEnablePeerAccess(int32_t peerDeviceId, uint32_t flags) {
    (void)peerDeviceId;
    (void)flags;
    return ACL_SUCCESS;
}

aclError aclrtDeviceGetBareTgid(int32_t *pid) {
    if (pid) *pid = (int32_t)getpid();
    return ACL_SUCCESS;
}

aclError aclrtProcessReport(int32_t timeout) { (void)timeout; return ACL_SUCCESS; }

/* The CANN version the install tree reports (install_tree.py writes the same one). */
static const char *cann_version(void) {
    const char *v = getenv("MC2_TWIN_CANN_VERSION");
    return v && *v ? v : "8.5.0";
}

aclError aclsysGetCANNVersion(aclCANNPackageName name, aclCANNPackageVersion *version) {
    (void)name;
    if (!version) return ACL_ERROR_INVALID_PARAM;
    memset(version, 0, sizeof *version);
    snprintf(version->version, sizeof version->version, "%s", cann_version());
    int major = 0, minor = 0, release = 0;
    sscanf(cann_version(), "%d.%d.%d", &major, &minor, &release);
    snprintf(version->majorVersion, sizeof version->majorVersion, "%d", major);
    snprintf(version->minorVersion, sizeof version->minorVersion, "%d", minor);
    snprintf(version->releaseVersion, sizeof version->releaseVersion, "%d", release);
    return ACL_SUCCESS;
}

aclError aclsysGetVersionStr(char *pkgName, char *versionStr) {
    if (!pkgName || !versionStr) return ACL_ERROR_INVALID_PARAM;
    const char *v = strcmp(pkgName, "driver") == 0 ? getenv("MC2_TWIN_DRIVER_VERSION") : NULL;
    snprintf(versionStr, ACL_PKG_VERSION_MAX_SIZE, "%s", v && *v ? v : cann_version());
    return ACL_SUCCESS;
}

/* ---- memory ------------------------------------------------------------------------------------------------ */

aclError aclrtMalloc(void **devPtr, size_t size, aclrtMemMallocPolicy policy) {
    (void)policy;
    if (!devPtr) return ACL_ERROR_INVALID_PARAM;
    void *p = NULL;
    if (posix_memalign(&p, 512, size ? size : 1) != 0) {
        set_error("aclrtMalloc: out of host memory for %zu bytes", size);
        return ACL_ERROR_RT_MEMORY_ALLOCATION;
    }
    memset(p, 0, size);
    *devPtr = p;
    return ACL_SUCCESS;
}

aclError aclrtFree(void *devPtr) { free(devPtr); return ACL_SUCCESS; }
aclError aclrtMallocHost(void **hostPtr, size_t size) { return aclrtMalloc(hostPtr, size, ACL_MEM_MALLOC_HUGE_FIRST); }
aclError aclrtFreeHost(void *hostPtr) { free(hostPtr); return ACL_SUCCESS; }

aclError aclrtMemcpy(void *dst, size_t destMax, const void *src, size_t count, aclrtMemcpyKind kind) {
    (void)kind;
    if (count > destMax) {
        set_error("aclrtMemcpy: %zu bytes into a buffer of %zu", count, destMax);
        return ACL_ERROR_INVALID_PARAM;
    }
    if (count && (!dst || !src)) return ACL_ERROR_INVALID_PARAM;
    if (count) memmove(dst, src, count);
    return ACL_SUCCESS;
}

aclError aclrtMemcpyAsync(void *dst, size_t destMax, const void *src, size_t count, aclrtMemcpyKind kind,
                          aclrtStream stream) {
    (void)stream;
    return aclrtMemcpy(dst, destMax, src, count, kind);
}

aclError aclrtMemset(void *devPtr, size_t maxCount, int32_t value, size_t count) {
    if (count > maxCount) return ACL_ERROR_INVALID_PARAM;
    if (count) memset(devPtr, value, count);
    return ACL_SUCCESS;
}

aclError aclrtMemsetAsync(void *devPtr, size_t maxCount, int32_t value, size_t count, aclrtStream stream) {
    (void)stream;
    return aclrtMemset(devPtr, maxCount, value, count);
}

/* Virtual-memory management (torch_npu's expandable segments): not modelled; a caller sees "not supported". */
aclError aclrtMallocPhysical(aclrtDrvMemHandle *handle, size_t size, const aclrtPhysicalMemProp *prop,
                             uint64_t flags) {
    (void)handle; (void)size; (void)prop; (void)flags;
    set_error("the CANN twin does not model physical memory handles (expandable segments)");
    return ACL_ERROR_RT_FEATURE_NOT_SUPPORT;
}
aclError aclrtFreePhysical(aclrtDrvMemHandle handle) { (void)handle; return ACL_ERROR_RT_FEATURE_NOT_SUPPORT; }
aclError aclrtReserveMemAddress(void **virPtr, size_t size, size_t alignment, void *expectPtr, uint64_t flags) {
    (void)virPtr; (void)size; (void)alignment; (void)expectPtr; (void)flags;
    return ACL_ERROR_RT_FEATURE_NOT_SUPPORT;
}
aclError aclrtReleaseMemAddress(void *virPtr) { (void)virPtr; return ACL_ERROR_RT_FEATURE_NOT_SUPPORT; }
aclError aclrtMapMem(void *virPtr, size_t size, size_t offset, aclrtDrvMemHandle handle, uint64_t flags) {
    (void)virPtr; (void)size; (void)offset; (void)handle; (void)flags;
    return ACL_ERROR_RT_FEATURE_NOT_SUPPORT;
}
aclError aclrtUnmapMem(void *virPtr) { (void)virPtr; return ACL_ERROR_RT_FEATURE_NOT_SUPPORT; }
aclError aclrtMemExportToShareableHandle(aclrtDrvMemHandle handle, aclrtMemHandleType handleType, uint64_t flags,
                                         uint64_t *shareableHandle) {
    (void)handle; (void)handleType; (void)flags; (void)shareableHandle;
    return ACL_ERROR_RT_FEATURE_NOT_SUPPORT;
}
aclError aclrtMemImportFromShareableHandle(uint64_t shareableHandle, int32_t deviceId, aclrtDrvMemHandle *handle) {
    (void)shareableHandle; (void)deviceId; (void)handle;
    return ACL_ERROR_RT_FEATURE_NOT_SUPPORT;
}
aclError aclrtMemSetPidToShareableHandle(uint64_t shareableHandle, int32_t *pid, size_t pidNum) {
    (void)shareableHandle; (void)pid; (void)pidNum;
    return ACL_ERROR_RT_FEATURE_NOT_SUPPORT;
}

/* ---- streams and events ------------------------------------------------------------------------------------- */

typedef struct TwinStream {
    int device;
    int failure;          /* the first kernel failure since the last synchronise, 0 if none */
    char message[512];    /* its message, returned by aclGetRecentErrMsg after the synchronise */
    long launches;
    struct TwinStream *next;
} TwinStream;

static pthread_mutex_t streams_lock = PTHREAD_MUTEX_INITIALIZER;
static TwinStream *streams;
static TwinStream default_streams[TWIN_MAX_DEVICES]; /* the NULL stream of each device */

static TwinStream *stream_of(aclrtStream stream) {
    if (stream) return (TwinStream *)stream;
    int d = current_device < 0 ? 0 : current_device;
    default_streams[d].device = d;
    return &default_streams[d];
}

aclError aclrtCreateStream(aclrtStream *stream) {
    if (!stream) return ACL_ERROR_INVALID_PARAM;
    TwinStream *s = (TwinStream *)calloc(1, sizeof(TwinStream));
    s->device = current_device < 0 ? 0 : current_device;
    pthread_mutex_lock(&streams_lock);
    s->next = streams;
    streams = s;
    pthread_mutex_unlock(&streams_lock);
    *stream = s;
    return ACL_SUCCESS;
}

aclError aclrtCreateStreamWithConfig(aclrtStream *stream, uint32_t priority, uint32_t flag) {
    (void)priority;
    (void)flag;
    return aclrtCreateStream(stream);
}

aclError aclrtDestroyStream(aclrtStream stream) {
    pthread_mutex_lock(&streams_lock);
    for (TwinStream **p = &streams; *p; p = &(*p)->next) {
        if (*p == (TwinStream *)stream) {
            *p = (*p)->next;
            free(stream);
            break;
        }
    }
    pthread_mutex_unlock(&streams_lock);
    return ACL_SUCCESS;
}

aclError aclrtDestroyStreamForce(aclrtStream stream) { return aclrtDestroyStream(stream); }

/* Launches run at once: nothing is ever pending to abort; a recorded failure is dropped with the stream's work. */
aclError aclrtStreamAbort(aclrtStream stream) {
    TwinStream *s = stream_of(stream);
    pthread_mutex_lock(&streams_lock);
    s->failure = 0;
    s->message[0] = 0;
    pthread_mutex_unlock(&streams_lock);
    return ACL_SUCCESS;
}

/* A kernel failure: kept on the stream, reported by its next synchronise (the launch itself returned 0). */
static void stream_fail(TwinStream *s, int status, const char *message) {
    pthread_mutex_lock(&streams_lock);
    if (!s->failure) {
        s->failure = status;
        snprintf(s->message, sizeof s->message, "%s", message ? message : "");
    }
    pthread_mutex_unlock(&streams_lock);
}

/* The failure a synchronise reports (0 if none), cleared; its message goes to this thread's aclGetRecentErrMsg. */
static aclError take_failure_locked(TwinStream *s) {
    int status = s->failure;
    if (status) {
        push_error(s->message);
        s->failure = 0;
        s->message[0] = 0;
    }
    return status;
}

static aclError stream_take_failure(TwinStream *s) {
    pthread_mutex_lock(&streams_lock);
    int status = take_failure_locked(s);
    pthread_mutex_unlock(&streams_lock);
    return status;
}

aclError aclrtSynchronizeStream(aclrtStream stream) { return stream_take_failure(stream_of(stream)); }

aclError aclrtSynchronizeStreamWithTimeout(aclrtStream stream, int32_t timeout) {
    (void)timeout;
    return aclrtSynchronizeStream(stream);
}

aclError aclrtStreamQuery(aclrtStream stream, aclrtStreamStatus *status) {
    (void)stream;
    if (status) *status = ACL_STREAM_STATUS_COMPLETE;
    return ACL_SUCCESS;
}

/* Every stream of the current device; the first failure found is the answer, all are cleared. */
aclError aclrtSynchronizeDevice() {
    int device = current_device < 0 ? 0 : current_device;
    pthread_mutex_lock(&streams_lock);
    int first = take_failure_locked(&default_streams[device]);
    for (TwinStream *s = streams; s; s = s->next) {
        if (s->device != device) continue;
        int status = take_failure_locked(s);
        if (!first) first = status;
    }
    pthread_mutex_unlock(&streams_lock);
    return first;
}

aclError aclrtSynchronizeDeviceWithTimeout(int32_t timeout) {
    (void)timeout;
    return aclrtSynchronizeDevice();
}

typedef struct TwinEvent {
    double stamp_ms;
    int recorded;
} TwinEvent;

aclError aclrtCreateEvent(aclrtEvent *event) {
    if (!event) return ACL_ERROR_INVALID_PARAM;
    *event = calloc(1, sizeof(TwinEvent));
    return ACL_SUCCESS;
}
aclError aclrtCreateEventWithFlag(aclrtEvent *event, uint32_t flag) { (void)flag; return aclrtCreateEvent(event); }
aclError aclrtCreateEventExWithFlag(aclrtEvent *event, uint32_t flag) { (void)flag; return aclrtCreateEvent(event); }
aclError aclrtDestroyEvent(aclrtEvent event) { free(event); return ACL_SUCCESS; }

/* Launches run at once, so a record stamps the moment every earlier launch of its stream has finished. */
aclError aclrtRecordEvent(aclrtEvent event, aclrtStream stream) {
    (void)stream;
    if (!event) return ACL_ERROR_INVALID_PARAM;
    TwinEvent *e = (TwinEvent *)event;
    e->stamp_ms = now_ms();
    e->recorded = 1;
    return ACL_SUCCESS;
}

aclError aclrtResetEvent(aclrtEvent event, aclrtStream stream) {
    (void)stream;
    if (event) ((TwinEvent *)event)->recorded = 0;
    return ACL_SUCCESS;
}

aclError aclrtSynchronizeEvent(aclrtEvent event) { (void)event; return ACL_SUCCESS; }
aclError aclrtStreamWaitEvent(aclrtStream stream, aclrtEvent event) { (void)stream; (void)event; return ACL_SUCCESS; }

aclError aclrtQueryEventStatus(aclrtEvent event, aclrtEventRecordedStatus *status) {
    (void)event;
    if (status) *status = ACL_EVENT_RECORDED_STATUS_COMPLETE;
    return ACL_SUCCESS;
}

aclError aclrtEventElapsedTime(float *ms, aclrtEvent startEvent, aclrtEvent endEvent) {
    TwinEvent *a = (TwinEvent *)startEvent, *b = (TwinEvent *)endEvent;
    if (!ms || !a || !b || !a->recorded || !b->recorded) {
        set_error("aclrtEventElapsedTime: both events must have been recorded");
        return ACL_ERROR_INVALID_PARAM;
    }
    *ms = (float)(b->stamp_ms - a->stamp_ms);
    return ACL_SUCCESS;
}

/* ---- the aclop path (tensor descriptors, attributes): accepted, but no operator runs through it ----------------- */

struct aclTensorDesc { aclDataType dtype; aclFormat format; int ndim; int64_t dims[16]; };
struct aclDataBuffer { void *data; size_t size; };
struct aclopAttr { int unused; };

aclTensorDesc *aclCreateTensorDesc(aclDataType dataType, int numDims, const int64_t *dims, aclFormat format) {
    aclTensorDesc *d = (aclTensorDesc *)calloc(1, sizeof(aclTensorDesc));
    d->dtype = dataType;
    d->format = format;
    aclSetTensorShape(d, numDims, dims);
    return d;
}
void aclDestroyTensorDesc(const aclTensorDesc *desc) { free((void *)desc); }
aclError aclSetTensorShape(aclTensorDesc *desc, int numDims, const int64_t *dims) {
    if (!desc || numDims < 0 || numDims > 16) return ACL_ERROR_INVALID_PARAM;
    desc->ndim = numDims;
    for (int i = 0; i < numDims && dims; i++) desc->dims[i] = dims[i];
    return ACL_SUCCESS;
}
aclError aclSetTensorFormat(aclTensorDesc *desc, aclFormat format) { if (desc) desc->format = format; return 0; }
aclError aclSetTensorPlaceMent(aclTensorDesc *desc, aclMemType memType) { (void)desc; (void)memType; return 0; }
void aclSetTensorDescName(aclTensorDesc *desc, const char *name) { (void)desc; (void)name; }
aclDataType aclGetTensorDescType(const aclTensorDesc *desc) { return desc ? desc->dtype : ACL_DT_UNDEFINED; }
aclFormat aclGetTensorDescFormat(const aclTensorDesc *desc) { return desc ? desc->format : ACL_FORMAT_UNDEFINED; }
size_t aclGetTensorDescNumDims(const aclTensorDesc *desc) { return desc ? (size_t)desc->ndim : 0; }
aclError aclGetTensorDescDimV2(const aclTensorDesc *desc, size_t index, int64_t *dimSize) {
    if (!desc || !dimSize || index >= (size_t)desc->ndim) return ACL_ERROR_INVALID_PARAM;
    *dimSize = desc->dims[index];
    return ACL_SUCCESS;
}
aclDataBuffer *aclCreateDataBuffer(void *data, size_t size) {
    aclDataBuffer *b = (aclDataBuffer *)calloc(1, sizeof(aclDataBuffer));
    b->data = data;
    b->size = size;
    return b;
}
aclError aclDestroyDataBuffer(const aclDataBuffer *dataBuffer) { free((void *)dataBuffer); return ACL_SUCCESS; }
aclopAttr *aclopCreateAttr() { return (aclopAttr *)calloc(1, sizeof(aclopAttr)); }
void aclopDestroyAttr(const aclopAttr *attr) { free((void *)attr); }
aclError aclopSetAttrBool(aclopAttr *a, const char *n, uint8_t v) { (void)a; (void)n; (void)v; return 0; }
aclError aclopSetAttrDataType(aclopAttr *a, const char *n, aclDataType v) { (void)a; (void)n; (void)v; return 0; }
aclError aclopSetAttrFloat(aclopAttr *a, const char *n, float v) { (void)a; (void)n; (void)v; return 0; }
aclError aclopSetAttrInt(aclopAttr *a, const char *n, int64_t v) { (void)a; (void)n; (void)v; return 0; }
aclError aclopSetAttrString(aclopAttr *a, const char *n, const char *v) { (void)a; (void)n; (void)v; return 0; }
aclError aclopSetAttrListBool(aclopAttr *a, const char *n, int k, const uint8_t *v) {
    (void)a; (void)n; (void)k; (void)v; return 0;
}
aclError aclopSetAttrListFloat(aclopAttr *a, const char *n, int k, const float *v) {
    (void)a; (void)n; (void)k; (void)v; return 0;
}
aclError aclopSetAttrListInt(aclopAttr *a, const char *n, int k, const int64_t *v) {
    (void)a; (void)n; (void)k; (void)v; return 0;
}
aclError aclopSetAttrListListInt(aclopAttr *a, const char *n, int k, const int *c, const int64_t *const v[]) {
    (void)a; (void)n; (void)k; (void)c; (void)v; return 0;
}

aclError aclopCompileAndExecute(const char *opType, int numInputs, const aclTensorDesc *const inputDesc[],
                                const aclDataBuffer *const inputs[], int numOutputs,
                                const aclTensorDesc *const outputDesc[], aclDataBuffer *const outputs[],
                                const aclopAttr *attr, aclopEngineType engineType, aclopCompileType compileFlag,
                                const char *opPath, aclrtStream stream) {
    (void)attr; (void)engineType; (void)compileFlag; (void)opPath; (void)stream;
    /* "Identity": torch_npu's npu_format_cast on CANN < 9.1.0 copies through it (Ascend/pytorch@9e73e708
     * torch_npu/csrc/aten/common/FormatCastKernelNpu.cpp:247-264); with internal formats disabled (Atlas A2) both
     * sides are base format, so the copy is the bytes. */
    if (opType && strcmp(opType, "Identity") == 0 && numInputs == 1 && numOutputs == 1 && inputs && outputs &&
        inputs[0] && outputs[0] && inputDesc && outputDesc && inputDesc[0] && outputDesc[0] &&
        inputDesc[0]->dtype == outputDesc[0]->dtype) {
        size_t n = inputs[0]->size < outputs[0]->size ? inputs[0]->size : outputs[0]->size;
        if (n) memmove(outputs[0]->data, inputs[0]->data, n);
        return ACL_SUCCESS;
    }
    set_error("the CANN twin runs aclnn operators only; the aclop path (op %s) is not modelled", opType);
    return ACL_ERROR_OP_NOT_FOUND;
}

aclError aclmdlInitDump() { return ACL_SUCCESS; }
aclError aclmdlSetDump(const char *dumpCfgPath) { (void)dumpCfgPath; return ACL_SUCCESS; }
aclError aclmdlFinalizeDump() { return ACL_SUCCESS; }

/* Kernel binaries (torch_npu's own AscendC kernels): not modelled. */
aclError aclrtBinaryLoadFromData(const void *data, size_t length, const aclrtBinaryLoadOptions *options,
                                 aclrtBinHandle *binHandle) {
    (void)data; (void)length; (void)options; (void)binHandle;
    return ACL_ERROR_RT_FEATURE_NOT_SUPPORT;
}
aclError aclrtBinaryGetFunction(const aclrtBinHandle binHandle, const char *kernelName, aclrtFuncHandle *funcHandle) {
    (void)binHandle; (void)kernelName; (void)funcHandle;
    return ACL_ERROR_RT_FEATURE_NOT_SUPPORT;
}
aclError aclrtGetFunctionAddr(aclrtFuncHandle funcHandle, void **aicAddr, void **aivAddr) {
    (void)funcHandle; (void)aicAddr; (void)aivAddr;
    return ACL_ERROR_RT_FEATURE_NOT_SUPPORT;
}

/* ---- profiling (msprof): accepted and ignored ---------------------------------------------------------------- */

uint64_t MsprofGetHashId(const char *hashInfo, size_t length) {
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; hashInfo && i < length; i++) h = (h ^ (unsigned char)hashInfo[i]) * 1099511628211ULL;
    return h;
}
int32_t MsprofRegisterCallback(uint32_t moduleId, ProfCommandHandle handle) { (void)moduleId; (void)handle; return 0; }
int32_t MsprofReportAdditionalInfo(uint32_t f, const VOID_PTR data, uint32_t length) {
    (void)f; (void)data; (void)length; return 0;
}
int32_t MsprofReportCompactInfo(uint32_t f, const VOID_PTR data, uint32_t length) {
    (void)f; (void)data; (void)length; return 0;
}
int32_t MsprofReportApi(uint32_t f, const struct MsprofApi *api) { (void)f; (void)api; return 0; }
uint64_t MsprofSysCycleTime(void) { return (uint64_t)(now_ms() * 1e6); }

/* rt* (the runtime's older interface; torch_npu links them for its own kernels). No shipped header declares them:
 * the twin's prototypes take what the linker needs (a symbol) and answer "not supported". */
TWIN_EXPORT int rtDevBinaryRegister(const void *bin, void **handle) { (void)bin; (void)handle; return 207000; }
TWIN_EXPORT int rtFunctionRegister(void *binHandle, const void *stubFunc, const char *stubName, const void *devFunc,
                                   uint32_t funcMode) {
    (void)binHandle; (void)stubFunc; (void)stubName; (void)devFunc; (void)funcMode; return 207000;
}
TWIN_EXPORT int rtKernelLaunch(const void *stubFunc, uint32_t blockDim, void *args, uint32_t argsSize, void *smDesc,
                               void *stream) {
    (void)stubFunc; (void)blockDim; (void)args; (void)argsSize; (void)smDesc; (void)stream; return 207000;
}
TWIN_EXPORT int rtGetC2cCtrlAddr(uint64_t *addr, uint32_t *len) {
    if (addr) *addr = 0;
    if (len) *len = 0;
    return 207000;
}

/* ---- nnopbase: the aclnn argument objects --------------------------------------------------------------------- */
/* Prototypes: torch_npu/include/third_party/op-plugin/op_plugin/utils/op_api_common_base.h:57-80 (the function
 * pointer types op-plugin resolves them as) and hicann/opbase docs (aclCreateTensor.md, aclCreateScalar.md). */

#define TWIN_MAX_DIMS 16

struct aclTensor {
    int64_t view[TWIN_MAX_DIMS];
    int64_t strides[TWIN_MAX_DIMS];
    int64_t storage[TWIN_MAX_DIMS];
    uint64_t ndim;
    uint64_t storage_ndim;
    int64_t offset;
    int32_t dtype;
    int32_t format;
    void *data;
};
struct aclScalar { int32_t dtype; int32_t pad; unsigned char value[16]; };
struct aclIntArray { uint64_t size; int64_t *values; };
struct aclFloatArray { uint64_t size; float *values; };
struct aclBoolArray { uint64_t size; bool *values; };
struct aclTensorList { uint64_t size; const aclTensor **values; };
struct aclScalarList { uint64_t size; const aclScalar **values; };

static size_t dtype_bytes(int dtype) {
    switch (dtype) {
    case ACL_FLOAT: case ACL_INT32: case ACL_UINT32: return 4;
    case ACL_FLOAT16: case ACL_INT16: case ACL_UINT16: case ACL_BF16: return 2;
    case ACL_INT8: case ACL_UINT8: case ACL_BOOL: return 1;
    case ACL_INT64: case ACL_UINT64: case ACL_DOUBLE: case ACL_COMPLEX64: return 8;
    case ACL_COMPLEX128: return 16;
    default: return 1;
    }
}

TWIN_EXPORT aclTensor *aclCreateTensor(const int64_t *viewDims, uint64_t viewDimsNum, aclDataType dataType,
                                       const int64_t *stride, int64_t offset, aclFormat format,
                                       const int64_t *storageDims, uint64_t storageDimsNum, void *tensorData) {
    if (viewDimsNum > TWIN_MAX_DIMS || storageDimsNum > TWIN_MAX_DIMS) {
        set_error("aclCreateTensor: more than %d dimensions", TWIN_MAX_DIMS);
        return NULL;
    }
    aclTensor *t = (aclTensor *)calloc(1, sizeof(aclTensor));
    t->ndim = viewDimsNum;
    t->storage_ndim = storageDimsNum;
    for (uint64_t i = 0; i < viewDimsNum; i++) {
        t->view[i] = viewDims ? viewDims[i] : 0;
        t->strides[i] = stride ? stride[i] : 0;
    }
    if (!stride) { /* contiguous */
        int64_t s = 1;
        for (uint64_t i = viewDimsNum; i-- > 0;) { t->strides[i] = s; s *= t->view[i]; }
    }
    for (uint64_t i = 0; i < storageDimsNum; i++) t->storage[i] = storageDims ? storageDims[i] : 0;
    t->offset = offset;
    t->dtype = dataType;
    t->format = format;
    t->data = tensorData;
    return t;
}

TWIN_EXPORT int aclDestroyTensor(const aclTensor *tensor) { free((void *)tensor); return 0; }

TWIN_EXPORT aclScalar *aclCreateScalar(void *value, aclDataType dataType) {
    aclScalar *s = (aclScalar *)calloc(1, sizeof(aclScalar));
    s->dtype = dataType;
    size_t n = dtype_bytes(dataType);
    if (value) memcpy(s->value, value, n > sizeof s->value ? sizeof s->value : n);
    return s;
}
TWIN_EXPORT int aclDestroyScalar(const aclScalar *scalar) { free((void *)scalar); return 0; }

#define TWIN_ARRAY(Type, Elem, create, destroy)                                        \
    TWIN_EXPORT Type *create(const Elem *value, uint64_t size) {                     \
        Type *a = (Type *)calloc(1, sizeof(Type));                                    \
        a->size = size;                                                               \
        a->values = (Elem *)calloc(size ? size : 1, sizeof(Elem));                    \
        if (value && size) memcpy((void *)a->values, value, size * sizeof(Elem));    \
        return a;                                                                     \
    }                                                                                 \
    TWIN_EXPORT int destroy(const Type *a) {                                          \
        if (a) { free((void *)a->values); free((void *)a); }                          \
        return 0;                                                                     \
    }
TWIN_ARRAY(aclIntArray, int64_t, aclCreateIntArray, aclDestroyIntArray)
TWIN_ARRAY(aclFloatArray, float, aclCreateFloatArray, aclDestroyFloatArray)
TWIN_ARRAY(aclBoolArray, bool, aclCreateBoolArray, aclDestroyBoolArray)
typedef const aclTensor *TwinTensorPtr;
typedef const aclScalar *TwinScalarPtr;
TWIN_ARRAY(aclTensorList, TwinTensorPtr, aclCreateTensorList, aclDestroyTensorList)
TWIN_ARRAY(aclScalarList, TwinScalarPtr, aclCreateScalarList, aclDestroyScalarList)

/* aclGetViewShape(const aclTensor*, int64_t **viewDims, uint64_t *viewDimsNum): hicann/opbase docs
 * aclGetViewShape.md; the caller frees *viewDims with delete[] (here: a malloc'd copy, as op-plugin reads it only). */
TWIN_EXPORT int aclGetViewShape(const aclTensor *tensor, int64_t **viewDims, uint64_t *viewDimsNum) {
    if (!tensor || !viewDims || !viewDimsNum) return 161001;
    *viewDimsNum = tensor->ndim;
    *viewDims = new int64_t[tensor->ndim ? tensor->ndim : 1];
    for (uint64_t i = 0; i < tensor->ndim; i++) (*viewDims)[i] = tensor->view[i];
    return 0;
}

/* ---- executors: one aclnn call's recorded arguments, handed to Python ----------------------------------------- */

typedef int32_t aclnnStatus; /* hicann/opbase: aclnn functions' status type */

enum TwinArgKind {
    ARG_NONE = 0, ARG_TENSOR = 1, ARG_SCALAR = 2, ARG_INT_ARRAY = 3, ARG_DOUBLE = 4, ARG_INT = 5, ARG_BOOL = 6,
    ARG_STRING = 7, ARG_TENSOR_LIST = 8, ARG_FLOAT_ARRAY = 9, ARG_BOOL_ARRAY = 10, ARG_SCALAR_LIST = 11
};

#define TWIN_MAX_ARGS 40

/* The layout bridge.py reads with ctypes (its _Arg / _Executor mirror these two structs field for field). */
typedef struct TwinArg {
    const char *name;
    int32_t kind;
    int32_t pad;
    const void *ptr;      /* tensor, scalar, array, list, string */
    double f;
    int64_t i;
} TwinArg;

struct aclOpExecutor {
    char fn[128];
    int32_t nargs;
    int32_t device;
    TwinArg args[TWIN_MAX_ARGS];
    int32_t repeatable;
    int32_t pad;
};

typedef int (*TwinCallback)(int32_t phase, aclOpExecutor *executor, uint64_t *workspace, void *stream,
                            int32_t *kernel_status, char *message, uint64_t message_size);

static TwinCallback python_callback;
static pthread_mutex_t bootstrap_lock = PTHREAD_MUTEX_INITIALIZER;

/* The bridge registers itself (bridge.install) */
TWIN_EXPORT void twin_register_callback(TwinCallback callback) { python_callback = callback; }

static const char *own_path(void) {
    static Dl_info info;
    if (dladdr((void *)&twin_register_callback, &info) && info.dli_fname) return info.dli_fname;
    return "libcann_twin.so";
}

/* No callback yet (a plain `import torch_npu` process): import conformance.twin.bridge through the Python C API
 * of this process, under the GIL (the launch may come from torch_npu's task-queue thread). */
typedef int (*PyGILState_Ensure_t)(void);
typedef void (*PyGILState_Release_t)(int);
typedef void *(*PyImport_ImportModule_t)(const char *);
typedef void *(*PyObject_CallMethod_t)(void *, const char *, const char *, ...);
typedef void (*PyErr_Print_t)(void);
typedef int (*Py_IsInitialized_t)(void);

static int bootstrap_python(void) {
    pthread_mutex_lock(&bootstrap_lock);
    if (python_callback) {
        pthread_mutex_unlock(&bootstrap_lock);
        return 0;
    }
    Py_IsInitialized_t is_init = (Py_IsInitialized_t)dlsym(RTLD_DEFAULT, "Py_IsInitialized");
    PyGILState_Ensure_t ensure = (PyGILState_Ensure_t)dlsym(RTLD_DEFAULT, "PyGILState_Ensure");
    PyGILState_Release_t release = (PyGILState_Release_t)dlsym(RTLD_DEFAULT, "PyGILState_Release");
    PyImport_ImportModule_t import_module = (PyImport_ImportModule_t)dlsym(RTLD_DEFAULT, "PyImport_ImportModule");
    PyObject_CallMethod_t call_method = (PyObject_CallMethod_t)dlsym(RTLD_DEFAULT, "PyObject_CallMethod");
    PyErr_Print_t err_print = (PyErr_Print_t)dlsym(RTLD_DEFAULT, "PyErr_Print");
    if (!is_init || !ensure || !release || !import_module || !call_method || !is_init()) {
        pthread_mutex_unlock(&bootstrap_lock);
        set_error("the CANN twin needs its Python side (conformance.twin.bridge) and this process has no Python");
        return -1;
    }
    int gil = ensure();
    void *module = import_module("conformance.twin.bridge");
    void *result = module ? call_method(module, "install", "s", own_path()) : NULL;
    if (!result && err_print) err_print();
    release(gil);
    pthread_mutex_unlock(&bootstrap_lock);
    if (!python_callback) {
        set_error("the CANN twin could not register conformance.twin.bridge (is the suite on PYTHONPATH?)");
        return -1;
    }
    return 0;
}

static aclOpExecutor *exec_begin(const char *fn) {
    aclOpExecutor *e = (aclOpExecutor *)calloc(1, sizeof(aclOpExecutor));
    snprintf(e->fn, sizeof e->fn, "%s", fn);
    e->device = current_device < 0 ? 0 : current_device;
    return e;
}

static TwinArg *exec_arg(aclOpExecutor *e, const char *name, int kind) {
    if (e->nargs >= TWIN_MAX_ARGS) return &e->args[TWIN_MAX_ARGS - 1];
    TwinArg *a = &e->args[e->nargs++];
    a->name = name;
    a->kind = kind;
    return a;
}

static void arg_ptr(aclOpExecutor *e, const char *name, int kind, const void *p) {
    TwinArg *a = exec_arg(e, name, p ? kind : ARG_NONE);
    a->ptr = p;
}
#define ARG_T(e, n, v) arg_ptr(e, n, ARG_TENSOR, v)
#define ARG_S(e, n, v) arg_ptr(e, n, ARG_SCALAR, v)
#define ARG_IA(e, n, v) arg_ptr(e, n, ARG_INT_ARRAY, v)
#define ARG_TL(e, n, v) arg_ptr(e, n, ARG_TENSOR_LIST, v)
static void ARG_STR(aclOpExecutor *e, const char *n, const char *v) { arg_ptr(e, n, ARG_STRING, v); }
static void ARG_D(aclOpExecutor *e, const char *n, double v) { exec_arg(e, n, ARG_DOUBLE)->f = v; }
static void ARG_I(aclOpExecutor *e, const char *n, int64_t v) { exec_arg(e, n, ARG_INT)->i = v; }
static void ARG_B(aclOpExecutor *e, const char *n, bool v) { exec_arg(e, n, ARG_BOOL)->i = v ? 1 : 0; }

#define ACLNN_ERR_INNER 561000

static int call_python(int phase, aclOpExecutor *e, uint64_t *workspace, void *stream, int *kernel_status) {
    if (!python_callback && bootstrap_python() != 0) return ACLNN_ERR_INNER;
    char message[1024] = {0};
    int32_t kstatus = 0;
    int status = python_callback(phase, e, workspace, stream, &kstatus, message, sizeof message);
    if (status && message[0]) set_error("%s", message);
    if (kernel_status) {
        *kernel_status = kstatus;
        if (kstatus) stream_fail(stream_of(stream), kstatus, message);
    }
    return status;
}

/* GetWorkspaceSize: the recorded call goes to Python (phase 0); on success the executor is the caller's. */
static aclnnStatus exec_workspace(aclOpExecutor *e, uint64_t *workspaceSize, aclOpExecutor **executor) {
    uint64_t ws = 0;
    int status = call_python(0, e, &ws, NULL, NULL);
    trace("%s GetWorkspaceSize -> %d (workspace %llu)", e->fn, status, (unsigned long long)ws);
    if (status != 0) {
        free(e);
        return status;
    }
    if (workspaceSize) *workspaceSize = ws;
    if (executor) *executor = e;
    else free(e);
    return 0;
}

/* The execute call: Python runs the operator (phase 1); a kernel failure stays on the stream. */
static aclnnStatus exec_launch(aclOpExecutor *e, void *workspace, uint64_t workspaceSize, aclrtStream stream) {
    (void)workspace;
    (void)workspaceSize;
    if (!e) {
        set_error("aclnn execute: the executor is NULL");
        return 161001;
    }
    int kernel_status = 0;
    uint64_t ws = workspaceSize;
    int status = call_python(1, e, &ws, stream, &kernel_status);
    trace("%s launch -> %d (kernel %d)", e->fn, status, kernel_status);
    stream_of(stream)->launches++;
    if (!e->repeatable) free(e);
    return status;
}

TWIN_EXPORT int aclDestroyAclOpExecutor(aclOpExecutor *executor) { free(executor); return 0; }
TWIN_EXPORT int aclSetAclOpExecutorRepeatable(aclOpExecutor *executor) {
    if (executor) executor->repeatable = 1;
    return 0;
}

/* Hooks op-plugin resolves in libopapi (op_api_common.h:138-147); all optional, kept trivial. */
TWIN_EXPORT int InitHugeMemThreadLocal(void *arg, bool sync) { (void)arg; (void)sync; return 0; }
TWIN_EXPORT void UnInitHugeMemThreadLocal(void *arg, bool sync) { (void)arg; (void)sync; }
TWIN_EXPORT void ReleaseHugeMem(void *arg, bool sync) { (void)arg; (void)sync; }

#define WORKSPACE_OUT uint64_t *workspaceSize, aclOpExecutor **executor
#define EXECUTE(fn)                                                                                    \
    TWIN_EXPORT aclnnStatus fn(void *workspace, uint64_t workspaceSize, aclOpExecutor *executor,      \
                               aclrtStream stream) {                                                   \
        return exec_launch(executor, workspace, workspaceSize, stream);                               \
    }

/* ---- HCCL over shared memory ---------------------------------------------------------------------------------- */

#define TWIN_SLOT_BYTES (4u << 20) /* each rank's exchange slot; larger payloads go in chunks */
#define TWIN_MAX_RANKS 64
#define TWIN_ROOT_MAGIC "mc2-cann-twin-root:"

typedef struct ShmHeader {
    uint32_t nranks;
    uint32_t count;      /* barrier arrivals */
    uint32_t generation; /* barrier generation */
    uint32_t joined;
} ShmHeader;

typedef struct TwinComm {
    char name[COMM_NAME_MAX_LENGTH];
    char shm_name[96];
    uint32_t rank, size;
    int device; /* the device of the thread that made it: ranks may be threads of one process (the aclnn backend) */
    ShmHeader *header;
    unsigned char *slots;
    size_t map_bytes;
    pthread_mutex_t lock;
    struct TwinComm *next;
} TwinComm;

static pthread_mutex_t comms_lock = PTHREAD_MUTEX_INITIALIZER;
static TwinComm *comms;

static double hccl_timeout_ms(void) { return env_int("MC2_TWIN_HCCL_TIMEOUT_S", 300) * 1e3; }

/* A barrier between the ranks of a communicator (processes or threads): arrivals counted in the segment; the last
 * one bumps the generation and wakes the others, who sleep on it with a (process-shared) futex after a short spin:
 * ranks usually outnumber cores here, and spinning would take the CPU from the rank everyone waits for. */
static int comm_barrier(TwinComm *c) {
    ShmHeader *h = c->header;
    uint32_t gen = __atomic_load_n(&h->generation, __ATOMIC_ACQUIRE);
    if (__atomic_add_fetch(&h->count, 1, __ATOMIC_ACQ_REL) == c->size) {
        __atomic_store_n(&h->count, 0, __ATOMIC_RELAXED);
        __atomic_add_fetch(&h->generation, 1, __ATOMIC_RELEASE);
        syscall(SYS_futex, &h->generation, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
        return 0;
    }
    double deadline = now_ms() + hccl_timeout_ms();
    for (unsigned spins = 0; __atomic_load_n(&h->generation, __ATOMIC_ACQUIRE) == gen; spins++) {
        if (spins < 64) {
            sched_yield();
            continue;
        }
        struct timespec wait = {0, 50 * 1000 * 1000}; /* re-check the deadline every 50 ms */
        syscall(SYS_futex, &h->generation, FUTEX_WAIT, gen, &wait, NULL, 0);
        if (now_ms() > deadline) {
            set_error("HCCL (twin) communicator %s: rank %u waited past %.0f s for its peers", c->name, c->rank,
                      hccl_timeout_ms() / 1e3);
            return HCCL_E_TIMEOUT;
        }
    }
    return 0;
}

/* Every rank's `len` bytes (equal on all ranks) into out[rank * len ...], through the slots in chunks. */
static int comm_allgather_equal(TwinComm *c, const void *in, size_t len, void *out) {
    const unsigned char *src = (const unsigned char *)in;
    unsigned char *dst = (unsigned char *)out;
    for (size_t done = 0; done < len || (len == 0 && done == 0); done += TWIN_SLOT_BYTES) {
        size_t n = len - done < TWIN_SLOT_BYTES ? len - done : TWIN_SLOT_BYTES;
        if (n) memcpy(c->slots + (size_t)c->rank * TWIN_SLOT_BYTES, src + done, n);
        int rc = comm_barrier(c);
        if (rc) return rc;
        for (uint32_t r = 0; r < c->size && n; r++)
            memcpy(dst + (size_t)r * len + done, c->slots + (size_t)r * TWIN_SLOT_BYTES, n);
        rc = comm_barrier(c);
        if (rc) return rc;
        if (len == 0) break;
    }
    return 0;
}

/* The generic bytes allgather exposed to Python (values.Comm.allgather): sizes first, then the payloads padded to the
 * largest. `out` is malloc'd here (size * max), `sizes` receives each rank's length; free with twin_free. */
TWIN_EXPORT int twin_comm_allgather(void *comm, const void *payload, uint64_t len, uint64_t *sizes, void **out,
                                    uint64_t *stride) {
    TwinComm *c = (TwinComm *)comm;
    pthread_mutex_lock(&c->lock);
    int rc = comm_allgather_equal(c, &len, sizeof len, sizes);
    uint64_t max = 0;
    for (uint32_t r = 0; !rc && r < c->size; r++) max = sizes[r] > max ? sizes[r] : max;
    unsigned char *padded = NULL, *all = NULL;
    if (!rc) {
        padded = (unsigned char *)calloc(max ? max : 1, 1);
        memcpy(padded, payload, len);
        all = (unsigned char *)malloc(max * c->size + 1);
        rc = comm_allgather_equal(c, padded, max, all);
    }
    pthread_mutex_unlock(&c->lock);
    free(padded);
    if (rc) {
        free(all);
        return rc;
    }
    *out = all;
    *stride = max;
    return 0;
}

TWIN_EXPORT void twin_free(void *p) { free(p); }

/* The communicator `name` of this process; where several ranks share the process (threads), the one made on
 * `device` (the device of the operator's executor). */
TWIN_EXPORT void *twin_comm_find(const char *name, int device) {
    pthread_mutex_lock(&comms_lock);
    TwinComm *found = NULL;
    for (TwinComm *c = comms; c; c = c->next) {
        if (strcmp(c->name, name) != 0) continue;
        if (c->device == device) {
            found = c;
            break;
        }
        if (!found) found = c;
    }
    pthread_mutex_unlock(&comms_lock);
    return found;
}

TWIN_EXPORT int twin_comm_rank(void *comm) { return comm ? (int)((TwinComm *)comm)->rank : -1; }
TWIN_EXPORT int twin_comm_size(void *comm) { return comm ? (int)((TwinComm *)comm)->size : -1; }

static unsigned long root_counter;

HcclResult HcclGetRootInfo(HcclRootInfo *rootInfo) {
    if (!rootInfo) return HCCL_E_PTR;
    memset(rootInfo->internal, 0, sizeof rootInfo->internal);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned long k = __atomic_add_fetch(&root_counter, 1, __ATOMIC_RELAXED);
    snprintf(rootInfo->internal, sizeof rootInfo->internal, TWIN_ROOT_MAGIC "/mc2twin-%d-%lu-%lx", (int)getpid(), k,
             (unsigned long)(ts.tv_nsec ^ ts.tv_sec));
    return HCCL_SUCCESS;
}

HcclResult HcclGetRootInfoScalable(HcclRootInfo *rootInfo) { return HcclGetRootInfo(rootInfo); }

static HcclResult comm_init(uint32_t nRanks, const HcclRootInfo *rootInfo, uint32_t rank, const char *name,
                            HcclComm *comm) {
    if (!rootInfo || !comm) return HCCL_E_PTR;
    if (nRanks == 0 || nRanks > TWIN_MAX_RANKS || rank >= nRanks) {
        set_error("HcclCommInitRootInfo (twin): rank %u of %u ranks", rank, nRanks);
        return HCCL_E_PARA;
    }
    if (strncmp(rootInfo->internal, TWIN_ROOT_MAGIC, strlen(TWIN_ROOT_MAGIC)) != 0) {
        set_error("HcclCommInitRootInfo (twin): the root info was not made by the twin's HcclGetRootInfo");
        return HCCL_E_PARA;
    }
    TwinComm *c = (TwinComm *)calloc(1, sizeof(TwinComm));
    snprintf(c->shm_name, sizeof c->shm_name, "%s", rootInfo->internal + strlen(TWIN_ROOT_MAGIC));
    snprintf(c->name, sizeof c->name, "%s", name && *name ? name : c->shm_name + 1);
    c->rank = rank;
    c->size = nRanks;
    c->device = current_device;
    c->map_bytes = 4096 + ((size_t)nRanks + 1) * TWIN_SLOT_BYTES; /* slots + result */
    pthread_mutex_init(&c->lock, NULL);
    int fd = shm_open(c->shm_name, O_CREAT | O_RDWR, 0600);
    if (fd < 0 || ftruncate(fd, (off_t)c->map_bytes) != 0) {
        set_error("HCCL (twin): shared memory %s: %s", c->shm_name, strerror(errno));
        if (fd >= 0) close(fd);
        free(c);
        return HCCL_E_INTERNAL;
    }
    void *map = mmap(NULL, c->map_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        set_error("HCCL (twin): mmap %s: %s", c->shm_name, strerror(errno));
        free(c);
        return HCCL_E_INTERNAL;
    }
    c->header = (ShmHeader *)map;
    c->slots = (unsigned char *)map + 4096;
    __atomic_add_fetch(&c->header->joined, 1, __ATOMIC_ACQ_REL);
    int rc = comm_barrier(c); /* everyone has mapped the segment: its name can go */
    if (rank == 0) shm_unlink(c->shm_name);
    if (rc) {
        munmap(map, c->map_bytes);
        free(c);
        return (HcclResult)rc;
    }
    pthread_mutex_lock(&comms_lock);
    c->next = comms;
    comms = c;
    pthread_mutex_unlock(&comms_lock);
    trace("communicator %s: rank %u of %u", c->name, rank, nRanks);
    *comm = c;
    return HCCL_SUCCESS;
}

HcclResult HcclCommInitRootInfo(uint32_t nRanks, const HcclRootInfo *rootInfo, uint32_t rank, HcclComm *comm) {
    return comm_init(nRanks, rootInfo, rank, NULL, comm);
}

HcclResult HcclCommInitRootInfoConfig(uint32_t nRanks, const HcclRootInfo *rootInfo, uint32_t rank,
                                      const HcclCommConfig *config, HcclComm *comm) {
    return comm_init(nRanks, rootInfo, rank, config ? config->hcclCommName : NULL, comm);
}

HcclResult HcclGetCommName(HcclComm comm, char *commName) {
    if (!comm || !commName) return HCCL_E_PTR;
    snprintf(commName, COMM_NAME_MAX_LENGTH, "%s", ((TwinComm *)comm)->name);
    return HCCL_SUCCESS;
}

HcclResult HcclGetRankSize(HcclComm comm, uint32_t *rankSize) {
    if (!comm || !rankSize) return HCCL_E_PTR;
    *rankSize = ((TwinComm *)comm)->size;
    return HCCL_SUCCESS;
}

HcclResult HcclGetRankId(HcclComm comm, uint32_t *rank) {
    if (!comm || !rank) return HCCL_E_PTR;
    *rank = ((TwinComm *)comm)->rank;
    return HCCL_SUCCESS;
}

HcclResult HcclCommDestroy(HcclComm comm) {
    TwinComm *c = (TwinComm *)comm;
    if (!c) return HCCL_E_PTR;
    pthread_mutex_lock(&comms_lock);
    for (TwinComm **p = &comms; *p; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            break;
        }
    }
    pthread_mutex_unlock(&comms_lock);
    munmap(c->header, c->map_bytes);
    free(c);
    return HCCL_SUCCESS;
}

HcclResult HcclGetCommAsyncError(HcclComm comm, HcclResult *asyncError) {
    (void)comm;
    if (asyncError) *asyncError = HCCL_SUCCESS;
    return HCCL_SUCCESS;
}

const char *HcclGetErrorString(HcclResult code) {
    switch (code) {
    case HCCL_SUCCESS: return "success";
    case HCCL_E_PARA: return "parameter error";
    case HCCL_E_PTR: return "empty pointer";
    case HCCL_E_TIMEOUT: return "timeout";
    default: return "HCCL (twin) error";
    }
}

HcclResult HcclSetConfig(HcclConfig config, HcclConfigValue configValue) {
    (void)config; (void)configValue; return HCCL_SUCCESS;
}
HcclResult HcclGetConfig(HcclConfig config, HcclConfigValue *configValue) {
    (void)config;
    if (configValue) configValue->value = 0;
    return HCCL_SUCCESS;
}
uint32_t HcclGetCommConfigCapability() { return HCCL_COMM_CONFIG_RESERVED; }

static size_t hccl_bytes(HcclDataType t) {
    switch (t) {
    case HCCL_DATA_TYPE_INT8: case HCCL_DATA_TYPE_UINT8: return 1;
    case HCCL_DATA_TYPE_INT16: case HCCL_DATA_TYPE_UINT16: case HCCL_DATA_TYPE_FP16: case HCCL_DATA_TYPE_BFP16: return 2;
    case HCCL_DATA_TYPE_INT32: case HCCL_DATA_TYPE_UINT32: case HCCL_DATA_TYPE_FP32: return 4;
    case HCCL_DATA_TYPE_INT64: case HCCL_DATA_TYPE_UINT64: case HCCL_DATA_TYPE_FP64: return 8;
    default: return 0;
    }
}

static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) bits = sign;
        else { /* subnormal */
            float f = ldexpf((float)man, -24);
            return sign ? -f : f;
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000 | (man << 13);
    } else {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static uint16_t float_to_half(float f) { /* round to nearest even */
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    int32_t exp = (int32_t)((x >> 23) & 0xff);
    uint32_t man = x & 0x7fffff;
    if (exp == 255) return (uint16_t)(sign | 0x7c00 | (man ? 0x200 : 0));
    int32_t e = exp - 127 + 15;
    if (e >= 31) return (uint16_t)(sign | 0x7c00);
    if (e <= 0) {
        if (e < -10) return (uint16_t)sign;
        man |= 0x800000;
        uint32_t shift = (uint32_t)(14 - e);
        uint32_t half = man >> shift, rem = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = (uint32_t)(e << 10) | (man >> 13), rem = man & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) half++;
    return (uint16_t)(sign | half);
}

static float bf16_to_float(uint16_t b) {
    uint32_t bits = (uint32_t)b << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static uint16_t float_to_bf16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffff) > 0x7f800000) return (uint16_t)((x >> 16) | 0x40);
    x += 0x7fff + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}

#define REDUCE_LOOP(T, load, store)                                                          \
    for (uint64_t i = 0; i < count; i++) {                                                   \
        T acc = load(((const U *)all)[i]);                                                   \
        for (uint32_t r = 1; r < size; r++) {                                                \
            T v = load(((const U *)(all + (size_t)r * bytes))[i]);                           \
            acc = op == HCCL_REDUCE_SUM ? acc + v : op == HCCL_REDUCE_PROD ? acc * v         \
                : op == HCCL_REDUCE_MAX ? (v > acc ? v : acc) : (v < acc ? v : acc);         \
        }                                                                                    \
        ((U *)out)[i] = store(acc);                                                          \
    }

#define IDENT(x) (x)

/* Reduce `size` rank buffers (each `count` elements, laid end to end in `all`) in rank order into `out`. */
static int reduce_buffers(const unsigned char *all, uint32_t size, uint64_t count, HcclDataType t, HcclReduceOp op,
                          void *out) {
    size_t bytes = count * hccl_bytes(t);
    switch (t) {
    case HCCL_DATA_TYPE_FP32: { typedef float U; REDUCE_LOOP(float, IDENT, IDENT) break; }
    case HCCL_DATA_TYPE_FP64: { typedef double U; REDUCE_LOOP(double, IDENT, IDENT) break; }
    case HCCL_DATA_TYPE_FP16: { typedef uint16_t U; REDUCE_LOOP(float, half_to_float, float_to_half) break; }
    case HCCL_DATA_TYPE_BFP16: { typedef uint16_t U; REDUCE_LOOP(float, bf16_to_float, float_to_bf16) break; }
    case HCCL_DATA_TYPE_INT8: { typedef int8_t U; REDUCE_LOOP(int8_t, IDENT, IDENT) break; }
    case HCCL_DATA_TYPE_UINT8: { typedef uint8_t U; REDUCE_LOOP(uint8_t, IDENT, IDENT) break; }
    case HCCL_DATA_TYPE_INT16: { typedef int16_t U; REDUCE_LOOP(int16_t, IDENT, IDENT) break; }
    case HCCL_DATA_TYPE_INT32: { typedef int32_t U; REDUCE_LOOP(int32_t, IDENT, IDENT) break; }
    case HCCL_DATA_TYPE_UINT32: { typedef uint32_t U; REDUCE_LOOP(uint32_t, IDENT, IDENT) break; }
    case HCCL_DATA_TYPE_INT64: { typedef int64_t U; REDUCE_LOOP(int64_t, IDENT, IDENT) break; }
    case HCCL_DATA_TYPE_UINT64: { typedef uint64_t U; REDUCE_LOOP(uint64_t, IDENT, IDENT) break; }
    default: return HCCL_E_NOT_SUPPORT;
    }
    return 0;
}

/* Gather every rank's `bytes` into one malloc'd buffer (rank order). */
static int gather_all(TwinComm *c, const void *send, size_t bytes, unsigned char **all) {
    *all = (unsigned char *)malloc(bytes * c->size + 1);
    pthread_mutex_lock(&c->lock);
    int rc = comm_allgather_equal(c, send, bytes, *all);
    pthread_mutex_unlock(&c->lock);
    if (rc) {
        free(*all);
        *all = NULL;
    }
    return rc;
}

static HcclResult collective_failed(TwinComm *c, int rc, aclrtStream stream, const char *what) {
    (void)c;
    char message[512];
    snprintf(message, sizeof message, "%s failed (status %d)", what, rc);
    stream_fail(stream_of(stream), rc, message);
    return (HcclResult)rc;
}

/* All-reduce through the segment in chunks: every rank stores its chunk in its slot; rank r reduces the r-th part of
 * the chunk over all slots in rank order (the same order on every rank: bit-identical results) into the shared
 * result area; every rank copies the whole reduced chunk out. Each rank reduces 1/size of the data. */
static int comm_allreduce(TwinComm *c, const unsigned char *send, unsigned char *recv, uint64_t count,
                          HcclDataType t, HcclReduceOp op) {
    size_t elem = hccl_bytes(t), per_chunk = TWIN_SLOT_BYTES / elem;
    unsigned char *result = c->slots + (size_t)c->size * TWIN_SLOT_BYTES;
    int rc = 0;
    for (uint64_t first = 0; first < count && !rc; first += per_chunk) {
        uint64_t n = count - first < per_chunk ? count - first : per_chunk;
        memcpy(c->slots + (size_t)c->rank * TWIN_SLOT_BYTES, send + first * elem, n * elem);
        if ((rc = comm_barrier(c))) break;
        uint64_t part = (n + c->size - 1) / c->size, lo = part * c->rank, hi = lo + part < n ? lo + part : n;
        if (lo < hi) {
            /* this rank's part of every slot, laid end to end, then reduced */
            unsigned char *mine = (unsigned char *)malloc((size_t)c->size * (hi - lo) * elem);
            for (uint32_t r = 0; r < c->size; r++)
                memcpy(mine + (size_t)r * (hi - lo) * elem, c->slots + (size_t)r * TWIN_SLOT_BYTES + lo * elem,
                       (hi - lo) * elem);
            rc = reduce_buffers(mine, c->size, hi - lo, t, op, result + lo * elem);
            free(mine);
        }
        int brc = comm_barrier(c);
        if (!rc) rc = brc;
        if (rc) break;
        memcpy(recv + first * elem, result, n * elem);
        rc = comm_barrier(c); /* nobody overwrites the slots or the result before everyone has read them */
    }
    return rc;
}

HcclResult HcclAllReduce(void *sendBuf, void *recvBuf, uint64_t count, HcclDataType dataType, HcclReduceOp op,
                         HcclComm comm, aclrtStream stream) {
    TwinComm *c = (TwinComm *)comm;
    if (!c || (count && (!sendBuf || !recvBuf))) return HCCL_E_PTR;
    if (!hccl_bytes(dataType) || op > HCCL_REDUCE_MIN) {
        set_error("HcclAllReduce (twin): data type %d / reduce op %d not supported", (int)dataType, (int)op);
        return HCCL_E_NOT_SUPPORT;
    }
    pthread_mutex_lock(&c->lock);
    int rc = comm_allreduce(c, (const unsigned char *)sendBuf, (unsigned char *)recvBuf, count, dataType, op);
    pthread_mutex_unlock(&c->lock);
    return rc ? collective_failed(c, rc, stream, "HcclAllReduce") : HCCL_SUCCESS;
}

HcclResult HcclReduce(void *sendBuf, void *recvBuf, uint64_t count, HcclDataType dataType, HcclReduceOp op,
                      uint32_t root, HcclComm comm, aclrtStream stream) {
    TwinComm *c = (TwinComm *)comm;
    if (!c) return HCCL_E_PTR;
    unsigned char *tmp = (unsigned char *)malloc(count * hccl_bytes(dataType) + 1);
    HcclResult rc = HcclAllReduce(sendBuf, tmp, count, dataType, op, comm, stream);
    if (rc == HCCL_SUCCESS && c->rank == root) memcpy(recvBuf, tmp, count * hccl_bytes(dataType));
    free(tmp);
    return rc;
}

HcclResult HcclBroadcast(void *buf, uint64_t count, HcclDataType dataType, uint32_t root, HcclComm comm,
                         aclrtStream stream) {
    TwinComm *c = (TwinComm *)comm;
    if (!c) return HCCL_E_PTR;
    size_t bytes = count * hccl_bytes(dataType);
    unsigned char *all;
    int rc = gather_all(c, buf, bytes, &all);
    if (rc) return collective_failed(c, rc, stream, "HcclBroadcast");
    if (root < c->size) memcpy(buf, all + (size_t)root * bytes, bytes);
    free(all);
    return HCCL_SUCCESS;
}

HcclResult HcclAllGather(void *sendBuf, void *recvBuf, uint64_t sendCount, HcclDataType dataType, HcclComm comm,
                         aclrtStream stream) {
    TwinComm *c = (TwinComm *)comm;
    if (!c) return HCCL_E_PTR;
    size_t bytes = sendCount * hccl_bytes(dataType);
    unsigned char *all;
    int rc = gather_all(c, sendBuf, bytes, &all);
    if (rc) return collective_failed(c, rc, stream, "HcclAllGather");
    memcpy(recvBuf, all, bytes * c->size);
    free(all);
    return HCCL_SUCCESS;
}

HcclResult HcclReduceScatter(void *sendBuf, void *recvBuf, uint64_t recvCount, HcclDataType dataType, HcclReduceOp op,
                             HcclComm comm, aclrtStream stream) {
    TwinComm *c = (TwinComm *)comm;
    if (!c) return HCCL_E_PTR;
    size_t bytes = recvCount * hccl_bytes(dataType);
    unsigned char *tmp = (unsigned char *)malloc(bytes * c->size + 1);
    HcclResult rc = HcclAllReduce(sendBuf, tmp, recvCount * c->size, dataType, op, comm, stream);
    if (rc == HCCL_SUCCESS) memcpy(recvBuf, tmp + (size_t)c->rank * bytes, bytes);
    free(tmp);
    return rc;
}

HcclResult HcclBarrier(HcclComm comm, aclrtStream stream) {
    TwinComm *c = (TwinComm *)comm;
    if (!c) return HCCL_E_PTR;
    pthread_mutex_lock(&c->lock);
    int rc = comm_barrier(c);
    pthread_mutex_unlock(&c->lock);
    return rc ? collective_failed(c, rc, stream, "HcclBarrier") : HCCL_SUCCESS;
}

HcclResult HcclGroupStart() { return HCCL_SUCCESS; }
HcclResult HcclGroupEnd() { return HCCL_SUCCESS; }

/* ---- runtime settings torch_npu makes at start-up: accepted (nothing on a CPU depends on them) ------------------ */

aclError aclrtSetDeviceSatMode(aclrtFloatOverflowMode mode) { (void)mode; return ACL_SUCCESS; }
aclError aclrtSetOpWaitTimeout(uint32_t timeout) { (void)timeout; return ACL_SUCCESS; }
aclError aclrtSetOpExecuteTimeOut(uint32_t timeout) { (void)timeout; return ACL_SUCCESS; }
aclError aclrtSetStreamFailureMode(aclrtStream stream, uint64_t mode) { (void)stream; (void)mode; return ACL_SUCCESS; }
aclError aclrtSetStreamOverflowSwitch(aclrtStream stream, uint32_t flag) { (void)stream; (void)flag; return 0; }
aclError aclrtGetStreamOverflowSwitch(aclrtStream stream, uint32_t *flag) {
    (void)stream;
    if (flag) *flag = 0;
    return ACL_SUCCESS;
}
aclError aclrtCtxSetSysParamOpt(aclSysParamOpt opt, int64_t value) { (void)opt; (void)value; return ACL_SUCCESS; }
aclError aclrtSetSysParamOpt(aclSysParamOpt opt, int64_t value) { (void)opt; (void)value; return ACL_SUCCESS; }
aclError aclrtGetSysParamOpt(aclSysParamOpt opt, int64_t *value) {
    (void)opt;
    if (value) *value = 0;
    return ACL_SUCCESS;
}
aclError aclrtGetLastError(aclrtLastErrLevel level) { (void)level; return ACL_SUCCESS; }
aclError aclrtPeekAtLastError(aclrtLastErrLevel level) { (void)level; return ACL_SUCCESS; }
aclError aclrtStreamGetId(aclrtStream stream, int32_t *streamId) {
    if (streamId) *streamId = (int32_t)(((uintptr_t)stream >> 4) & 0x7fffffff);
    return ACL_SUCCESS;
}
/* Launches run at once, so a host callback on a stream runs at once too. */
aclError aclrtLaunchCallback(aclrtCallback fn, void *userData, aclrtCallbackBlockType blockType, aclrtStream stream) {
    (void)blockType;
    (void)stream;
    if (fn) fn(userData);
    return ACL_SUCCESS;
}
aclError aclrtSubscribeReport(uint64_t threadId, aclrtStream stream) { (void)threadId; (void)stream; return 0; }
aclError aclrtUnSubscribeReport(uint64_t threadId, aclrtStream stream) { (void)threadId; (void)stream; return 0; }

aclError aclrtSetOpExecuteTimeOutV2(uint64_t timeout, uint64_t *actualTimeout) {
    if (actualTimeout) *actualTimeout = timeout;
    return ACL_SUCCESS;
}
aclError aclSetCompileopt(aclCompileOpt opt, const char *value) { (void)opt; (void)value; return ACL_SUCCESS; }
size_t aclGetCompileoptSize(aclCompileOpt opt) { (void)opt; return 64; }
aclError aclGetCompileopt(aclCompileOpt opt, char *value, size_t length) {
    (void)opt;
    if (value && length) value[0] = 0;
    return ACL_SUCCESS;
}
/* Every attribute (inf/nan mode, bf16, jit compile: acl_base_rt.h:213-218) reads as present, as on an Atlas A2. */
aclError aclGetCannAttribute(aclCannAttr cannAttr, int32_t *value) {
    (void)cannAttr;
    if (!value) return ACL_ERROR_INVALID_PARAM;
    *value = 1;
    return ACL_SUCCESS;
}
aclError aclrtMallocAlign32(void **devPtr, size_t size, aclrtMemMallocPolicy policy) {
    return aclrtMalloc(devPtr, size, policy);
}

/* Core limits of a stream (--busy-cores): accepted; the twin runs every launch at once whatever the limit. */
aclError aclrtSetStreamResLimit(aclrtStream stream, aclrtDevResLimitType type, uint32_t value) {
    (void)stream; (void)type; (void)value;
    return ACL_SUCCESS;
}
aclError aclrtUseStreamResInCurrentThread(aclrtStream stream) { (void)stream; return ACL_SUCCESS; }
aclError aclrtUnuseStreamResInCurrentThread(aclrtStream stream) { (void)stream; return ACL_SUCCESS; }

/* ---- the benchmark chain's operators and the basic operators torch_npu runs for tensor creation and arithmetic --- */
/* Prototypes as documented: aclnnInplaceOne hicann/ops-math@c4193324 experimental/math/ones_like/docs/
 * aclnnInplaceOne.md:18, aclnnInplaceZero experimental/conversion/zeros_like/README.md:67, aclnnInplaceFillScalar
 * conversion/fill/docs/aclnnInplaceFillScalar.md:35, aclnnInplaceCopy conversion/view_copy/docs/aclnnInplaceCopy.md:54,
 * aclnnCast math/cast/docs/aclnnCast.md:35, aclnnAdd / aclnnInplaceAdd math/add/docs/aclnnAdd&aclnnInplaceAdd.md:45,
 * :63, aclnnSub math/sub/docs/aclnnSub&aclnnInplaceSub.md:47, aclnnMul math/mul/docs/aclnnMul&aclnnInplaceMul.md:46,
 * aclnnDiv math/div/docs/aclnnDiv&aclnnInplaceDiv.md:46; aclnnMatmul, aclnnAddRmsNorm, aclnnQuantMatmulV4 as
 * conformance/backends/aclnn/abi.py cites them (hicann/ops-nn@e5c3fa93). */

TWIN_EXPORT aclnnStatus aclnnInplaceOneGetWorkspaceSize(const aclTensor *selfRef, WORKSPACE_OUT) {
    aclOpExecutor *e = exec_begin("aclnnInplaceOne");
    ARG_T(e, "selfRef", selfRef);
    return exec_workspace(e, workspaceSize, executor);
}
EXECUTE(aclnnInplaceOne)

TWIN_EXPORT aclnnStatus aclnnInplaceZeroGetWorkspaceSize(aclTensor *selfRef, WORKSPACE_OUT) {
    aclOpExecutor *e = exec_begin("aclnnInplaceZero");
    ARG_T(e, "selfRef", selfRef);
    return exec_workspace(e, workspaceSize, executor);
}
EXECUTE(aclnnInplaceZero)

TWIN_EXPORT aclnnStatus aclnnInplaceFillScalarGetWorkspaceSize(aclTensor *selfRef, const aclScalar *value,
                                                              WORKSPACE_OUT) {
    aclOpExecutor *e = exec_begin("aclnnInplaceFillScalar");
    ARG_T(e, "selfRef", selfRef);
    ARG_S(e, "value", value);
    return exec_workspace(e, workspaceSize, executor);
}
EXECUTE(aclnnInplaceFillScalar)

TWIN_EXPORT aclnnStatus aclnnInplaceCopyGetWorkspaceSize(aclTensor *selfRef, const aclTensor *src, WORKSPACE_OUT) {
    aclOpExecutor *e = exec_begin("aclnnInplaceCopy");
    ARG_T(e, "selfRef", selfRef);
    ARG_T(e, "src", src);
    return exec_workspace(e, workspaceSize, executor);
}
EXECUTE(aclnnInplaceCopy)

TWIN_EXPORT aclnnStatus aclnnCastGetWorkspaceSize(const aclTensor *self, aclDataType dtype, aclTensor *out,
                                                 WORKSPACE_OUT) {
    aclOpExecutor *e = exec_begin("aclnnCast");
    ARG_T(e, "self", self);
    ARG_I(e, "dtype", dtype);
    ARG_T(e, "out", out);
    return exec_workspace(e, workspaceSize, executor);
}
EXECUTE(aclnnCast)

#define BINARY_ALPHA(fn)                                                                                  \
    TWIN_EXPORT aclnnStatus fn##GetWorkspaceSize(const aclTensor *self, const aclTensor *other,            \
                                                 const aclScalar *alpha, aclTensor *out, WORKSPACE_OUT) {  \
        aclOpExecutor *e = exec_begin(#fn);                                                               \
        ARG_T(e, "self", self);                                                                           \
        ARG_T(e, "other", other);                                                                         \
        ARG_S(e, "alpha", alpha);                                                                         \
        ARG_T(e, "out", out);                                                                             \
        return exec_workspace(e, workspaceSize, executor);                                                \
    }                                                                                                     \
    EXECUTE(fn)
#define BINARY(fn)                                                                                        \
    TWIN_EXPORT aclnnStatus fn##GetWorkspaceSize(const aclTensor *self, const aclTensor *other,            \
                                                 aclTensor *out, WORKSPACE_OUT) {                          \
        aclOpExecutor *e = exec_begin(#fn);                                                               \
        ARG_T(e, "self", self);                                                                           \
        ARG_T(e, "other", other);                                                                         \
        ARG_T(e, "out", out);                                                                             \
        return exec_workspace(e, workspaceSize, executor);                                                \
    }                                                                                                     \
    EXECUTE(fn)
BINARY_ALPHA(aclnnAdd)
BINARY_ALPHA(aclnnSub)
BINARY(aclnnMul)

/* aclnnAdds: ops-math math/add/docs/aclnnAdds.md:40; aclnnMuls: math/muls/docs/aclnnMuls&aclnnInplaceMuls.md:43 */
TWIN_EXPORT aclnnStatus aclnnAddsGetWorkspaceSize(const aclTensor *self, const aclScalar *other, const aclScalar *alpha,
                                                 aclTensor *out, WORKSPACE_OUT) {
    aclOpExecutor *e = exec_begin("aclnnAdds");
    ARG_T(e, "self", self);
    ARG_S(e, "other", other);
    ARG_S(e, "alpha", alpha);
    ARG_T(e, "out", out);
    return exec_workspace(e, workspaceSize, executor);
}
EXECUTE(aclnnAdds)

TWIN_EXPORT aclnnStatus aclnnMulsGetWorkspaceSize(const aclTensor *self, const aclScalar *other, aclTensor *out,
                                                 WORKSPACE_OUT) {
    aclOpExecutor *e = exec_begin("aclnnMuls");
    ARG_T(e, "self", self);
    ARG_S(e, "other", other);
    ARG_T(e, "out", out);
    return exec_workspace(e, workspaceSize, executor);
}
EXECUTE(aclnnMuls)
BINARY(aclnnDiv)

TWIN_EXPORT aclnnStatus aclnnInplaceAddGetWorkspaceSize(const aclTensor *selfRef, const aclTensor *other,
                                                       const aclScalar *alpha, WORKSPACE_OUT) {
    aclOpExecutor *e = exec_begin("aclnnInplaceAdd");
    ARG_T(e, "selfRef", selfRef);
    ARG_T(e, "other", other);
    ARG_S(e, "alpha", alpha);
    return exec_workspace(e, workspaceSize, executor);
}
EXECUTE(aclnnInplaceAdd)

/* aclnnConstantPadNd: ops-math conversion/pad_v3/docs/aclnnConstantPadNd.md:86 (ProcessGroupHCCL pads collective
 * buffers to 512 bytes with it: Ascend/pytorch@v2.12.0 torch_npu/csrc/distributed/ProcessGroupHCCL.cpp:5357) */
TWIN_EXPORT aclnnStatus aclnnConstantPadNdGetWorkspaceSize(const aclTensor *self, const aclIntArray *pad,
                                                          const aclScalar *value, aclTensor *out, WORKSPACE_OUT) {
    aclOpExecutor *e = exec_begin("aclnnConstantPadNd");
    ARG_T(e, "self", self);
    ARG_IA(e, "pad", pad);
    ARG_S(e, "value", value);
    ARG_T(e, "out", out);
    return exec_workspace(e, workspaceSize, executor);
}
EXECUTE(aclnnConstantPadNd)

/* The NZ weight path of the V3 document: aclnnCalculateMatmulWeightSizeV2 (ops-math
 * conversion/trans_data/docs/aclnnCalculateMatmulWeightSizeV2.md:53): elements of the NZ storage, align(rows, 16) *
 * align(cols, c0) with c0 = 32 bytes / element (conformance/quant.py weight_size_v2); aclnnTransMatmulWeight
 * (conversion/trans_data/docs/aclnnTransMatmulWeight.md:35) rearranges the ND matrix into NZ in place. The twin
 * re-describes the tensor as FRACTAL_NZ with its 4-D storage (c1, r1, 16, c0) already at GetWorkspaceSize, so that
 * the recorded descriptor spans the whole buffer; the data moves at the launch (basic_ops). */
static int64_t nz_c0(int dtype) { return dtype_bytes(dtype) == 1 ? 32 : 16; }

TWIN_EXPORT aclnnStatus aclnnCalculateMatmulWeightSizeV2(const aclIntArray *tensorShape, aclDataType dataType,
                                                        uint64_t *weightTensorSize) {
    if (!tensorShape || !weightTensorSize) return 161001;
    if (tensorShape->size < 2) {
        set_error("aclnnCalculateMatmulWeightSizeV2: the shape needs at least 2 dimensions");
        return 161002;
    }
    int64_t rows = tensorShape->values[tensorShape->size - 2], cols = tensorShape->values[tensorShape->size - 1];
    int64_t c0 = nz_c0(dataType);
    *weightTensorSize = (uint64_t)((rows + 15) / 16 * 16) * (uint64_t)((cols + c0 - 1) / c0 * c0);
    return 0;
}

TWIN_EXPORT aclnnStatus aclnnTransMatmulWeightGetWorkspaceSize(aclTensor *mmWeightRef, WORKSPACE_OUT) {
    if (mmWeightRef && mmWeightRef->ndim == 2 && mmWeightRef->format != ACL_FORMAT_FRACTAL_NZ) {
        /* the tiling is of the stored matrix: a transposed view's transpose (chain_ops.stored_dims) */
        int64_t v0 = mmWeightRef->view[0], v1 = mmWeightRef->view[1], c0 = nz_c0(mmWeightRef->dtype);
        int transposed = v0 > 1 && v1 > 1 && mmWeightRef->strides[0] == 1 && mmWeightRef->strides[1] == v0;
        int64_t rows = transposed ? v1 : v0, cols = transposed ? v0 : v1;
        mmWeightRef->format = ACL_FORMAT_FRACTAL_NZ;
        mmWeightRef->storage_ndim = 4;
        mmWeightRef->storage[0] = (cols + c0 - 1) / c0;
        mmWeightRef->storage[1] = (rows + 15) / 16;
        mmWeightRef->storage[2] = 16;
        mmWeightRef->storage[3] = c0;
    }
    aclOpExecutor *e = exec_begin("aclnnTransMatmulWeight");
    ARG_T(e, "mmWeightRef", mmWeightRef);
    return exec_workspace(e, workspaceSize, executor);
}
EXECUTE(aclnnTransMatmulWeight)

/* aclnnInplaceFillTensor: ops-math conversion/fill/docs/aclnnInplaceFillTensor.md:35 (fill_ with a tensor value) */
TWIN_EXPORT aclnnStatus aclnnInplaceFillTensorGetWorkspaceSize(aclTensor *selfRef, const aclTensor *value,
                                                              WORKSPACE_OUT) {
    aclOpExecutor *e = exec_begin("aclnnInplaceFillTensor");
    ARG_T(e, "selfRef", selfRef);
    ARG_T(e, "value", value);
    return exec_workspace(e, workspaceSize, executor);
}
EXECUTE(aclnnInplaceFillTensor)

/* aclnnMm: hicann/ops-nn@e5c3fa93 matmul/mat_mul_v3/docs/aclnnMm.md:38 (torch.mm and 2-D @) */
TWIN_EXPORT aclnnStatus aclnnMmGetWorkspaceSize(const aclTensor *self, const aclTensor *mat2, aclTensor *out,
                                               int8_t cubeMathType, WORKSPACE_OUT) {
    aclOpExecutor *e = exec_begin("aclnnMm");
    ARG_T(e, "self", self);
    ARG_T(e, "mat2", mat2);
    ARG_T(e, "out", out);
    ARG_I(e, "cubeMathType", cubeMathType);
    return exec_workspace(e, workspaceSize, executor);
}
EXECUTE(aclnnMm)

/* aclnnMatmulWeightNz: ops-nn matmul/mat_mul_v3/docs/aclnnMatmulWeightNz.md:39 (torch.matmul on an NZ weight) */
TWIN_EXPORT aclnnStatus aclnnMatmulWeightNzGetWorkspaceSize(const aclTensor *self, const aclTensor *mat2,
                                                           aclTensor *out, int8_t cubeMathType, WORKSPACE_OUT) {
    aclOpExecutor *e = exec_begin("aclnnMatmulWeightNz");
    ARG_T(e, "self", self);
    ARG_T(e, "mat2", mat2);
    ARG_T(e, "out", out);
    ARG_I(e, "cubeMathType", cubeMathType);
    return exec_workspace(e, workspaceSize, executor);
}
EXECUTE(aclnnMatmulWeightNz)

/* aclnnQuantMatmulV5: ops-nn matmul/quant_batch_matmul_v4/docs/aclnnQuantMatmulV5.md:253 (npu_quant_matmul);
 * aclnnQuantMatmulWeightNz, the same parameters: matmul/quant_batch_matmul_v3/docs/aclnnQuantMatmulWeightNz.md:117 */
#define QUANT_MATMUL_V5(fn)                                                                                       \
    TWIN_EXPORT aclnnStatus fn##GetWorkspaceSize(                                                                 \
        const aclTensor *x1, const aclTensor *x2, const aclTensor *x1Scale, const aclTensor *x2Scale,             \
        const aclTensor *yScale, const aclTensor *x1Offset, const aclTensor *x2Offset, const aclTensor *yOffset,  \
        const aclTensor *bias, bool transposeX1, bool transposeX2, int64_t groupSize, aclTensor *out,             \
        WORKSPACE_OUT) {                                                                                          \
        aclOpExecutor *e = exec_begin(#fn);                                                                       \
        quant_matmul_v5_args(e, x1, x2, x1Scale, x2Scale, yScale, x1Offset, x2Offset, yOffset, bias, transposeX1, \
                             transposeX2, groupSize, out);                                                        \
        return exec_workspace(e, workspaceSize, executor);                                                        \
    }                                                                                                             \
    EXECUTE(fn)

static void quant_matmul_v5_args(aclOpExecutor *e, const aclTensor *x1, const aclTensor *x2, const aclTensor *x1Scale,
                                 const aclTensor *x2Scale, const aclTensor *yScale, const aclTensor *x1Offset,
                                 const aclTensor *x2Offset, const aclTensor *yOffset, const aclTensor *bias,
                                 bool transposeX1, bool transposeX2, int64_t groupSize, aclTensor *out) {
    ARG_T(e, "x1", x1);
    ARG_T(e, "x2", x2);
    ARG_T(e, "x1Scale", x1Scale);
    ARG_T(e, "x2Scale", x2Scale);
    ARG_T(e, "yScale", yScale);
    ARG_T(e, "x1Offset", x1Offset);
    ARG_T(e, "x2Offset", x2Offset);
    ARG_T(e, "yOffset", yOffset);
    ARG_T(e, "bias", bias);
    ARG_B(e, "transposeX1", transposeX1);
    ARG_B(e, "transposeX2", transposeX2);
    ARG_I(e, "groupSize", groupSize);
    ARG_T(e, "out", out);
}
QUANT_MATMUL_V5(aclnnQuantMatmulV5)
QUANT_MATMUL_V5(aclnnQuantMatmulWeightNz)

/* aclnnTransQuantParamV2(scale, offset, out) / V3(scale, offset, int64_t roundMode, out): npu_trans_quant_param
 * (op-plugin@517f2e7d op_plugin/ops/opapi/TransQuantParamKernelNpuOpApi.cpp:39-44; V3 documented in hicann/ops-nn
 * quant/trans_quant_param_v2/docs/aclnnTransQuantParamV3.md:65) */
TWIN_EXPORT aclnnStatus aclnnTransQuantParamV2GetWorkspaceSize(const aclTensor *scale, const aclTensor *offset,
                                                              const aclTensor *out, WORKSPACE_OUT) {
    aclOpExecutor *e = exec_begin("aclnnTransQuantParamV2");
    ARG_T(e, "scale", scale);
    ARG_T(e, "offset", offset);
    ARG_T(e, "out", out);
    return exec_workspace(e, workspaceSize, executor);
}
EXECUTE(aclnnTransQuantParamV2)

TWIN_EXPORT aclnnStatus aclnnTransQuantParamV3GetWorkspaceSize(const aclTensor *scale, const aclTensor *offset,
                                                              int64_t roundMode, const aclTensor *out,
                                                              WORKSPACE_OUT) {
    aclOpExecutor *e = exec_begin("aclnnTransQuantParamV3");
    ARG_T(e, "scale", scale);
    ARG_T(e, "offset", offset);
    ARG_I(e, "roundMode", roundMode);
    ARG_T(e, "out", out);
    return exec_workspace(e, workspaceSize, executor);
}
EXECUTE(aclnnTransQuantParamV3)

TWIN_EXPORT aclnnStatus aclnnMatmulGetWorkspaceSize(const aclTensor *self, const aclTensor *mat2, aclTensor *out,
                                                   int8_t cubeMathType, WORKSPACE_OUT) {
    aclOpExecutor *e = exec_begin("aclnnMatmul");
    ARG_T(e, "self", self);
    ARG_T(e, "mat2", mat2);
    ARG_T(e, "out", out);
    ARG_I(e, "cubeMathType", cubeMathType);
    return exec_workspace(e, workspaceSize, executor);
}
EXECUTE(aclnnMatmul)

TWIN_EXPORT aclnnStatus aclnnAddRmsNormGetWorkspaceSize(const aclTensor *x1, const aclTensor *x2,
                                                       const aclTensor *gamma, double epsilon, const aclTensor *yOut,
                                                       const aclTensor *rstdOut, const aclTensor *xOut,
                                                       WORKSPACE_OUT) {
    aclOpExecutor *e = exec_begin("aclnnAddRmsNorm");
    ARG_T(e, "x1", x1);
    ARG_T(e, "x2", x2);
    ARG_T(e, "gamma", gamma);
    ARG_D(e, "epsilon", epsilon);
    ARG_T(e, "yOut", yOut);
    ARG_T(e, "rstdOut", rstdOut);
    ARG_T(e, "xOut", xOut);
    return exec_workspace(e, workspaceSize, executor);
}
EXECUTE(aclnnAddRmsNorm)

TWIN_EXPORT aclnnStatus aclnnQuantMatmulV4GetWorkspaceSize(const aclTensor *x1, const aclTensor *x2,
                                                          const aclTensor *scale, const aclTensor *offset,
                                                          const aclTensor *pertokenScaleOptional,
                                                          const aclTensor *bias, bool transposeX1, bool transposeX2,
                                                          const aclTensor *out, WORKSPACE_OUT) {
    aclOpExecutor *e = exec_begin("aclnnQuantMatmulV4");
    ARG_T(e, "x1", x1);
    ARG_T(e, "x2", x2);
    ARG_T(e, "scale", scale);
    ARG_T(e, "offset", offset);
    ARG_T(e, "pertokenScaleOptional", pertokenScaleOptional);
    ARG_T(e, "bias", bias);
    ARG_B(e, "transposeX1", transposeX1);
    ARG_B(e, "transposeX2", transposeX2);
    ARG_T(e, "out", out);
    return exec_workspace(e, workspaceSize, executor);
}
EXECUTE(aclnnQuantMatmulV4)

/* ---- torchair's imports from libascendcl / libacl_tdt_channel / libc_sec ------------------------------------
 * torchair's compiled modules in the torch_npu wheel (torch_npu/dynamo/torchair/core/_torchair.so,
 * _abi_compat_ge_apis.so, _npu_graph_executor.so, _npu_utils.so) are linked BIND_NOW, and MindSpeed's op builders
 * import torchair (Ascend/MindSpeed@028de58c mindspeed/op_builder/npu_mm_all_reduce_add_rms_norm_builder.py:8-26),
 * so every symbol they import must exist before MindSpeed's MARN imports (`nm -D --undefined-only` on those four
 * files, less what torch, torch_npu, libstdc++/libc and the rest of this library define: the 14 acl* below, the
 * three bounds-checked string functions, and the ge:: graph engine at the end of this file). torchair calls them in
 * graph mode (torch.compile), which the twin does not model: each answers "not supported". */
#include "acl/acl_dump.h"
#include "acl/acl_tdt.h"

static aclError tdt_unmodelled(const char *fn) {
    set_error("the CANN twin does not model %s (torchair's data-transfer channel / op dump)", fn);
    return ACL_ERROR_FEATURE_UNSUPPORTED;
}

TWIN_EXPORT aclError aclopStartDumpArgs(uint32_t dumpType, const char *path) {
    (void)dumpType; (void)path;
    return tdt_unmodelled("aclopStartDumpArgs");
}
TWIN_EXPORT aclError aclopStopDumpArgs(uint32_t dumpType) { (void)dumpType; return tdt_unmodelled("aclopStopDumpArgs"); }
TWIN_EXPORT acltdtChannelHandle *acltdtCreateChannelWithCapacity(uint32_t deviceId, const char *name,
                                                                 size_t capacity) {
    (void)deviceId; (void)name; (void)capacity;
    tdt_unmodelled("acltdtCreateChannelWithCapacity");
    return NULL;
}
TWIN_EXPORT aclError acltdtDestroyChannel(acltdtChannelHandle *handle) {
    (void)handle;
    return tdt_unmodelled("acltdtDestroyChannel");
}
TWIN_EXPORT acltdtDataset *acltdtCreateDataset() { tdt_unmodelled("acltdtCreateDataset"); return NULL; }
TWIN_EXPORT aclError acltdtDestroyDataset(acltdtDataset *dataset) {
    (void)dataset;
    return tdt_unmodelled("acltdtDestroyDataset");
}
TWIN_EXPORT acltdtDataItem *acltdtGetDataItem(const acltdtDataset *dataset, size_t index) {
    (void)dataset; (void)index;
    tdt_unmodelled("acltdtGetDataItem");
    return NULL;
}
TWIN_EXPORT size_t acltdtGetDatasetSize(const acltdtDataset *dataset) { (void)dataset; return 0; }
TWIN_EXPORT aclDataType acltdtGetDataTypeFromItem(const acltdtDataItem *dataItem) {
    (void)dataItem;
    return ACL_DT_UNDEFINED;
}
TWIN_EXPORT void *acltdtGetDataAddrFromItem(const acltdtDataItem *dataItem) { (void)dataItem; return NULL; }
TWIN_EXPORT size_t acltdtGetDataSizeFromItem(const acltdtDataItem *dataItem) { (void)dataItem; return 0; }
TWIN_EXPORT size_t acltdtGetDimNumFromItem(const acltdtDataItem *dataItem) { (void)dataItem; return 0; }
TWIN_EXPORT aclError acltdtGetDimsFromItem(const acltdtDataItem *dataItem, int64_t *dims, size_t dimNum) {
    (void)dataItem; (void)dims; (void)dimNum;
    return tdt_unmodelled("acltdtGetDimsFromItem");
}
TWIN_EXPORT aclError acltdtReceiveTensor(const acltdtChannelHandle *handle, acltdtDataset *dataset, int32_t timeout) {
    (void)handle; (void)dataset; (void)timeout;
    return tdt_unmodelled("acltdtReceiveTensor");
}

/* The bounds-checked string functions CANN's libc_sec exports (no shipped header declares them). snprintf_s as
 * hicann/runtime@681ef761 tests/ut/msprof/stub/common-utils-stub.h:17 declares it; vsnprintf_s is its va_list form
 * and strcpy_s the C11 Annex K signature (K.3.7.1.3). Semantics as bounds-checked functions define them: on
 * truncation or a bad argument the destination becomes "" and the result is -1 / an error number. */
TWIN_EXPORT int vsnprintf_s(char *strDest, size_t destMax, size_t count, const char *format, va_list argList) {
    if (!strDest || destMax == 0 || !format) return -1;
    size_t limit = count < destMax - 1 ? count + 1 : destMax;
    int n = vsnprintf(strDest, limit, format, argList);
    if (n < 0 || (size_t)n >= limit) {
        if (count < destMax - 1 && n >= 0) return -1;  /* truncated to count: a short string, as asked */
        strDest[0] = '\0';
        return -1;
    }
    return n;
}
TWIN_EXPORT int snprintf_s(char *strDest, size_t destMax, size_t count, const char *format, ...) {
    va_list ap;
    va_start(ap, format);
    int n = vsnprintf_s(strDest, destMax, count, format, ap);
    va_end(ap);
    return n;
}
TWIN_EXPORT int strcpy_s(char *strDest, size_t destMax, const char *strSrc) {
    if (!strDest || destMax == 0) return EINVAL;
    if (!strSrc) { strDest[0] = '\0'; return EINVAL; }
    size_t n = strlen(strSrc);
    if (n >= destMax) { strDest[0] = '\0'; return ERANGE; }
    memcpy(strDest, strSrc, n + 1);
    return 0;
}

/* ---- aclnn operators ------------------------------------------------------------------------------------------ */

#include "cann_twin_ops.h"

} /* extern "C" */

/* ---- ge:: the graph engine torchair links (libge_runner / libgraph) ------------------------------------------
 * The classes' own headers ship in the wheel (third_party/acl/inc/graph/*.h), so those members are defined against
 * them. ge_api.h in the wheel is older than the torchair beside it (no CompiledGraphSummary, GEGetWarningMsgV2,
 * Session::CompileGraph / *MemoryBase / RegisterExternalAllocator): Session and the ge_api functions are declared
 * here, from the mangled names torchair imports (`nm -DC --undefined-only _torchair.so _abi_compat_ge_apis.so`).
 * A return type is not part of a C++ function's name, and none of these ever returns: graph mode is not modelled,
 * so each call ends the process with one line naming the twin. AscendString alone is a plain value (implemented). */
#include "graph/ascend_string.h"
#include "graph/graph.h"
#include "graph/gnode.h"
#include "graph/operator.h"
#include "graph/operator_factory.h"
#include "graph/tensor.h"
#include "graph/types.h"

[[noreturn]] static void ge_unmodelled(const char *fn) {
    fprintf(stderr, "[cann-twin] %s: the CANN twin does not model the graph engine (torchair graph mode)\n", fn);
    abort();
}
#define GE_STUB(fn) { ge_unmodelled(fn); }

namespace ge {
using TwinStatus = uint32_t;  /* ge::Status is a uint32_t code */
using Options = std::map<AscendString, AscendString>;
class Allocator;

class CompiledGraphSummary {
public:
    bool IsStatic() const;
    TwinStatus GetConstMemorySize(size_t &size) const;
    TwinStatus GetFeatureMemorySize(size_t &size) const;
    TwinStatus GetFixedFeatureMemorySize(size_t &size) const;
    TwinStatus GetFeatureMemoryBaseRefreshable(bool &refreshable) const;
    TwinStatus GetOutputShapes(std::vector<Shape> &shapes) const;
    TwinStatus GetOutputDtypes(std::vector<DataType> &dtypes) const;
};

class Session {
public:
    explicit Session(const Options &options);
    ~Session();
    TwinStatus AddGraph(uint32_t graph_id, const Graph &graph, const Options &options);
    TwinStatus RemoveGraph(uint32_t graph_id);
    TwinStatus CompileGraph(uint32_t graph_id);
    std::shared_ptr<CompiledGraphSummary> GetCompiledGraphSummary(uint32_t graph_id);
    TwinStatus RunGraph(uint32_t graph_id, const std::vector<Tensor> &inputs, std::vector<Tensor> &outputs);
    TwinStatus RunGraphWithStreamAsync(uint32_t graph_id, void *stream, const std::vector<Tensor> &inputs,
                                       std::vector<Tensor> &outputs);
    TwinStatus SetGraphConstMemoryBase(uint32_t graph_id, const void *memory, size_t size);
    TwinStatus SetGraphFixedFeatureMemoryBase(uint32_t graph_id, const void *memory, size_t size);
    TwinStatus UpdateGraphFeatureMemoryBase(uint32_t graph_id, const void *memory, size_t size);
    TwinStatus UpdateGraphRefreshableFeatureMemoryBase(uint32_t graph_id, const void *memory, size_t size);
    TwinStatus RegisterExternalAllocator(const void *stream, std::shared_ptr<Allocator> allocator) const;
};

TWIN_EXPORT TwinStatus GEInitialize(const Options &options);
TWIN_EXPORT TwinStatus GEFinalize();
/* The real one returns a std::string of the pre-C++11 library ABI torchair is built with: its imported name has no
 * [abi:cxx11] tag, which a std::string return in this (C++11 ABI) build would add. It never returns here. */
TWIN_EXPORT void GEGetErrorMsg();
TWIN_EXPORT AscendString GEGetWarningMsgV2();

/* AscendString: a shared string, as its header's one member says */
TWIN_EXPORT AscendString::AscendString(const char_t *const name)
    : name_(std::make_shared<std::string>(name ? name : "")) {}
TWIN_EXPORT const char_t *AscendString::GetString() const { return name_ ? name_->c_str() : ""; }
TWIN_EXPORT bool AscendString::operator<(const AscendString &d) const {
    return std::string(GetString()) < std::string(d.GetString());
}
TWIN_EXPORT bool AscendString::operator==(const AscendString &d) const {
    return std::string(GetString()) == std::string(d.GetString());
}

TWIN_EXPORT TwinStatus GEInitialize(const Options &) GE_STUB("ge::GEInitialize")
TWIN_EXPORT TwinStatus GEFinalize() GE_STUB("ge::GEFinalize")
TWIN_EXPORT void GEGetErrorMsg() GE_STUB("ge::GEGetErrorMsg")
TWIN_EXPORT AscendString GEGetWarningMsgV2() GE_STUB("ge::GEGetWarningMsgV2")
TWIN_EXPORT const char_t *GetFormatName(Format) GE_STUB("ge::GetFormatName")

TWIN_EXPORT bool CompiledGraphSummary::IsStatic() const GE_STUB("ge::CompiledGraphSummary::IsStatic")
TWIN_EXPORT TwinStatus CompiledGraphSummary::GetConstMemorySize(size_t &) const
    GE_STUB("ge::CompiledGraphSummary::GetConstMemorySize")
TWIN_EXPORT TwinStatus CompiledGraphSummary::GetFeatureMemorySize(size_t &) const
    GE_STUB("ge::CompiledGraphSummary::GetFeatureMemorySize")
TWIN_EXPORT TwinStatus CompiledGraphSummary::GetFixedFeatureMemorySize(size_t &) const
    GE_STUB("ge::CompiledGraphSummary::GetFixedFeatureMemorySize")
TWIN_EXPORT TwinStatus CompiledGraphSummary::GetFeatureMemoryBaseRefreshable(bool &) const
    GE_STUB("ge::CompiledGraphSummary::GetFeatureMemoryBaseRefreshable")
TWIN_EXPORT TwinStatus CompiledGraphSummary::GetOutputShapes(std::vector<Shape> &) const
    GE_STUB("ge::CompiledGraphSummary::GetOutputShapes")
TWIN_EXPORT TwinStatus CompiledGraphSummary::GetOutputDtypes(std::vector<DataType> &) const
    GE_STUB("ge::CompiledGraphSummary::GetOutputDtypes")

TWIN_EXPORT Session::Session(const Options &) GE_STUB("ge::Session::Session")
TWIN_EXPORT Session::~Session() GE_STUB("ge::Session::~Session")
TWIN_EXPORT TwinStatus Session::AddGraph(uint32_t, const Graph &, const Options &) GE_STUB("ge::Session::AddGraph")
TWIN_EXPORT TwinStatus Session::RemoveGraph(uint32_t) GE_STUB("ge::Session::RemoveGraph")
TWIN_EXPORT TwinStatus Session::CompileGraph(uint32_t) GE_STUB("ge::Session::CompileGraph")
TWIN_EXPORT std::shared_ptr<CompiledGraphSummary> Session::GetCompiledGraphSummary(uint32_t)
    GE_STUB("ge::Session::GetCompiledGraphSummary")
TWIN_EXPORT TwinStatus Session::RunGraph(uint32_t, const std::vector<Tensor> &, std::vector<Tensor> &)
    GE_STUB("ge::Session::RunGraph")
TWIN_EXPORT TwinStatus Session::RunGraphWithStreamAsync(uint32_t, void *, const std::vector<Tensor> &,
                                                        std::vector<Tensor> &) GE_STUB("ge::Session::RunGraphWithStreamAsync")
TWIN_EXPORT TwinStatus Session::SetGraphConstMemoryBase(uint32_t, const void *, size_t)
    GE_STUB("ge::Session::SetGraphConstMemoryBase")
TWIN_EXPORT TwinStatus Session::SetGraphFixedFeatureMemoryBase(uint32_t, const void *, size_t)
    GE_STUB("ge::Session::SetGraphFixedFeatureMemoryBase")
TWIN_EXPORT TwinStatus Session::UpdateGraphFeatureMemoryBase(uint32_t, const void *, size_t)
    GE_STUB("ge::Session::UpdateGraphFeatureMemoryBase")
TWIN_EXPORT TwinStatus Session::UpdateGraphRefreshableFeatureMemoryBase(uint32_t, const void *, size_t)
    GE_STUB("ge::Session::UpdateGraphRefreshableFeatureMemoryBase")
TWIN_EXPORT TwinStatus Session::RegisterExternalAllocator(const void *, std::shared_ptr<Allocator>) const
    GE_STUB("ge::Session::RegisterExternalAllocator")

TWIN_EXPORT Graph::Graph(const char_t *) GE_STUB("ge::Graph::Graph")
TWIN_EXPORT graphStatus Graph::CopyFrom(const Graph &) GE_STUB("ge::Graph::CopyFrom")
TWIN_EXPORT std::vector<GNode> Graph::GetAllNodes() const GE_STUB("ge::Graph::GetAllNodes")
TWIN_EXPORT graphStatus Graph::LoadFromSerializedModelArray(const void *, size_t)
    GE_STUB("ge::Graph::LoadFromSerializedModelArray")
TWIN_EXPORT graphStatus Graph::SaveToFile(const char_t *) const GE_STUB("ge::Graph::SaveToFile")
TWIN_EXPORT graphStatus GNode::GetType(AscendString &) const GE_STUB("ge::GNode::GetType")
TWIN_EXPORT graphStatus Operator::GetAllIrAttrNamesAndTypes(std::map<AscendString, AscendString> &) const
    GE_STUB("ge::Operator::GetAllIrAttrNamesAndTypes")
TWIN_EXPORT graphStatus Operator::UpdateInputDesc(const char_t *, const TensorDesc &)
    GE_STUB("ge::Operator::UpdateInputDesc")
TWIN_EXPORT Operator OperatorFactory::CreateOperator(const char_t *const, const char_t *const)
    GE_STUB("ge::OperatorFactory::CreateOperator")
TWIN_EXPORT bool OperatorFactory::IsExistOp(const char_t *const) GE_STUB("ge::OperatorFactory::IsExistOp")

TWIN_EXPORT Shape::Shape(const std::vector<int64_t> &) GE_STUB("ge::Shape::Shape")
TWIN_EXPORT std::vector<int64_t> Shape::GetDims() const GE_STUB("ge::Shape::GetDims")
TWIN_EXPORT TensorDesc::TensorDesc() GE_STUB("ge::TensorDesc::TensorDesc")
TWIN_EXPORT Shape TensorDesc::GetShape() const GE_STUB("ge::TensorDesc::GetShape")
TWIN_EXPORT Format TensorDesc::GetFormat() const GE_STUB("ge::TensorDesc::GetFormat")
TWIN_EXPORT void TensorDesc::SetFormat(Format) GE_STUB("ge::TensorDesc::SetFormat")
TWIN_EXPORT void TensorDesc::SetOriginShape(const Shape &) GE_STUB("ge::TensorDesc::SetOriginShape")
TWIN_EXPORT void TensorDesc::SetOriginFormat(Format) GE_STUB("ge::TensorDesc::SetOriginFormat")
TWIN_EXPORT DataType TensorDesc::GetDataType() const GE_STUB("ge::TensorDesc::GetDataType")
TWIN_EXPORT void TensorDesc::SetDataType(DataType) GE_STUB("ge::TensorDesc::SetDataType")
TWIN_EXPORT void TensorDesc::SetPlacement(Placement) GE_STUB("ge::TensorDesc::SetPlacement")
TWIN_EXPORT Placement TensorDesc::GetPlacement() const GE_STUB("ge::TensorDesc::GetPlacement")

TWIN_EXPORT Tensor::Tensor() GE_STUB("ge::Tensor::Tensor")
TWIN_EXPORT TensorDesc Tensor::GetTensorDesc() const GE_STUB("ge::Tensor::GetTensorDesc")
TWIN_EXPORT graphStatus Tensor::SetTensorDesc(const TensorDesc &) GE_STUB("ge::Tensor::SetTensorDesc")
TWIN_EXPORT const uint8_t *Tensor::GetData() const GE_STUB("ge::Tensor::GetData")
TWIN_EXPORT uint8_t *Tensor::GetData() GE_STUB("ge::Tensor::GetData")
TWIN_EXPORT std::unique_ptr<uint8_t[], Tensor::DeleteFunc> Tensor::ResetData() GE_STUB("ge::Tensor::ResetData")
TWIN_EXPORT graphStatus Tensor::ResetData(uint8_t *, size_t, const Tensor::DeleteFunc &) GE_STUB("ge::Tensor::ResetData")
TWIN_EXPORT graphStatus Tensor::SetData(uint8_t *, size_t, const Tensor::DeleteFunc &) GE_STUB("ge::Tensor::SetData")
TWIN_EXPORT graphStatus Tensor::SetOriginShapeDimNum(const size_t) GE_STUB("ge::Tensor::SetOriginShapeDimNum")
TWIN_EXPORT size_t Tensor::GetOriginShapeDimNum() const GE_STUB("ge::Tensor::GetOriginShapeDimNum")
TWIN_EXPORT graphStatus Tensor::SetOriginShapeDim(const size_t, const int64_t) GE_STUB("ge::Tensor::SetOriginShapeDim")
TWIN_EXPORT graphStatus Tensor::SetShapeDimNum(const size_t) GE_STUB("ge::Tensor::SetShapeDimNum")
TWIN_EXPORT size_t Tensor::GetShapeDimNum() const GE_STUB("ge::Tensor::GetShapeDimNum")
TWIN_EXPORT graphStatus Tensor::SetShapeDim(const size_t, const int64_t) GE_STUB("ge::Tensor::SetShapeDim")
TWIN_EXPORT int64_t Tensor::GetShapeDim(const size_t) const GE_STUB("ge::Tensor::GetShapeDim")
TWIN_EXPORT graphStatus Tensor::SetFormat(const Format &) GE_STUB("ge::Tensor::SetFormat")
TWIN_EXPORT Format Tensor::GetFormat() const GE_STUB("ge::Tensor::GetFormat")
TWIN_EXPORT graphStatus Tensor::SetDataType(const DataType &) GE_STUB("ge::Tensor::SetDataType")
TWIN_EXPORT DataType Tensor::GetDataType() const GE_STUB("ge::Tensor::GetDataType")
TWIN_EXPORT graphStatus Tensor::SetPlacement(const Placement &) GE_STUB("ge::Tensor::SetPlacement")
TWIN_EXPORT Placement Tensor::GetPlacement() const GE_STUB("ge::Tensor::GetPlacement")
}  /* namespace ge */
