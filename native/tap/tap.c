/*
 * iotnet_tap: a small N-API addon that opens a Linux TAP (or TUN) interface and lets
 * JavaScript read and write frames without blocking the libuv threadpool.
 *
 * The fd is non-blocking and watched by a `uv_poll_t` on the main loop that wakes
 * JavaScript once per `arm`:
 *   - `open(name, tun)` attaches to the interface (TUNSETIFF, IFF_NO_PI) and returns a
 *     handle object; the interface is created if it does not exist and we may (root).
 *   - `arm(handle, cb)`: asks for one wake-up when the fd is readable: `cb()` runs once
 *     (through napi_make_callback, so microtasks drain). JavaScript then reads with
 *     `read` until the queue is empty (or a short batch says so) and arms again. Reads
 *     thus happen inside the stack's poll, in batches, and frames are never read before
 *     the stack is ready for them (the kernel queue holds them meanwhile, as a NIC ring
 *     would). The poll itself stays started across wake-ups while JavaScript keeps
 *     re-arming (a stop and a start cost two epoll_ctl calls per wake-up, which showed
 *     per packet); it stops only when the fd is readable while no wake-up is wanted
 *     (JavaScript has not drained yet), so an undrained queue never spins the loop. The
 *     callback reference is kept across arms and replaced only by a different function.
 *   - `read(handle, area, lengths, slot, max)`: reads up to `max` frames without
 *     blocking, frame i into `area` at `i * slot`, its length into `lengths[i]`.
 *     Returns the number read (0 when the queue is empty), or -errno.
 *   - `write(handle, frame)`: one frame per write(); returns bytes written, or -errno
 *     (-EAGAIN when the kernel queue is full: the caller drops and counts it, as a NIC).
 *   - `close(handle)`: stops the poll, closes the fd, releases everything. Idempotent.
 * Nothing here is module-global except the immutable function table: each handle owns
 * its fd, poll and callback reference, so several TAPs run side by side.
 */
#include <node_api.h>
#include "../common/iotnet-napi.h"
#include <uv.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

typedef struct tap_s {
  int fd;
  int polling; /* uv_poll_start in effect */
  int wanted;  /* JavaScript asked for a wake-up (arm) and has not had it yet */
  int closed;
  uv_poll_t *poll; /* freed in its close callback */
  napi_env env;
  napi_ref cb;
  napi_async_context ctx;
  char name[IFNAMSIZ];
} tap_t;

#define CHECK(call)                                                             \
  do {                                                                          \
    if ((call) != napi_ok) {                                                    \
      napi_throw_error(env, NULL, "iotnet_tap: N-API call failed: " #call);     \
      return NULL;                                                              \
    }                                                                           \
  } while (0)

/* Throws an Error with `code` (a short name) and `errno` e, message strerror(e). */
static void throw_errno(napi_env env, const char *code_name, int e) {
  napi_value err, code, msg;
  napi_create_string_utf8(env, code_name, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, strerror(e), NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &err);
  napi_set_named_property(env, err, "errno", make_int(env, e));
  napi_throw(env, err);
}

static tap_t *unwrap(napi_env env, napi_value obj) {
  tap_t *t = NULL;
  if (napi_unwrap(env, obj, (void **)&t) != napi_ok || t == NULL) {
    napi_throw_type_error(env, NULL, "iotnet_tap: not a TAP handle");
    return NULL;
  }
  return t;
}

static void release(tap_t *t) {
  if (t->closed) return;
  t->closed = 1;
  iotnet_watch_release(t->env, &t->poll, &t->cb, &t->ctx);
  if (t->fd >= 0) {
    close(t->fd);
    t->fd = -1;
  }
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  tap_t *t = (tap_t *)data;
  release(t);
  free(t);
}

static void on_readable(uv_poll_t *p, int status, int events) {
  (void)events;
  tap_t *t = (tap_t *)p->data;
  if (t == NULL || t->closed) return;
  if (!t->wanted || t->cb == NULL) {
    /* Readable, but JavaScript has not drained since its last wake-up: stop watching
       (level-triggered, it would fire on every loop turn); arm() starts it again. */
    uv_poll_stop(p);
    t->polling = 0;
    return;
  }
  t->wanted = 0; /* one wake-up per arm */
  const int64_t args[1] = {status};
  iotnet_watch_call(t->env, t->cb, t->ctx, 1, args);
}

/* open(name: string, tun: boolean) -> handle */
static napi_value tap_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char name[IFNAMSIZ + 1];
  size_t len = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "iotnet_tap: open(name) needs an interface name");
    return NULL;
  }
  if (len == 0 || len >= IFNAMSIZ || strlen(name) != len) {
    napi_throw_range_error(env, "EINVAL", "iotnet_tap: interface name must be 1-15 bytes without NUL");
    return NULL;
  }
  bool tun = false;
  if (argc >= 2) napi_get_value_bool(env, argv[1], &tun);

  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    throw_errno(env, e == EACCES || e == EPERM ? "EACCES" : "ENODEV", e);
    return NULL;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = (short)((tun ? IFF_TUN : IFF_TAP) | IFF_NO_PI);
  memcpy(ifr.ifr_name, name, len); /* len < IFNAMSIZ: stays NUL-terminated */
  if (ioctl(fd, TUNSETIFF, (void *)&ifr) < 0) {
    int e = errno;
    close(fd);
    throw_errno(env, e == EPERM || e == EACCES ? "EACCES" : e == EBUSY ? "EBUSY" : "EINVAL", e);
    return NULL;
  }
  tap_t *t = (tap_t *)calloc(1, sizeof(tap_t));
  if (t == NULL) {
    close(fd);
    napi_throw_error(env, "ENOMEM", "iotnet_tap: out of memory");
    return NULL;
  }
  t->fd = fd;
  t->env = env;
  memcpy(t->name, ifr.ifr_name, IFNAMSIZ);
  t->name[IFNAMSIZ - 1] = 0;

  uv_loop_t *loop = NULL;
  t->poll = (uv_poll_t *)calloc(1, sizeof(uv_poll_t));
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || t->poll == NULL || uv_poll_init(loop, t->poll, fd) != 0) {
    free(t->poll);
    t->poll = NULL;
    release(t);
    free(t);
    napi_throw_error(env, NULL, "iotnet_tap: cannot watch the TAP fd");
    return NULL;
  }
  t->poll->data = t;
  /* The poll handle alone does not keep the process alive: the stack runner decides. */
  uv_unref((uv_handle_t *)t->poll);

  napi_value obj, resource_name;
  CHECK(napi_create_object(env, &obj));
  CHECK(napi_create_string_utf8(env, "iotnet:tap", NAPI_AUTO_LENGTH, &resource_name));
  CHECK(napi_async_init(env, obj, resource_name, &t->ctx));
  if (napi_wrap(env, obj, t, finalize, NULL, NULL) != napi_ok) {
    release(t);
    free(t);
    napi_throw_error(env, NULL, "iotnet_tap: wrap failed");
    return NULL;
  }
  napi_value n;
  CHECK(napi_create_string_utf8(env, t->name, NAPI_AUTO_LENGTH, &n));
  CHECK(napi_set_named_property(env, obj, "name", n));
  CHECK(napi_set_named_property(env, obj, "fd", make_int(env, fd)));
  return obj;
}

/* arm(handle, cb): one wake-up when the fd is readable. Returns 0 or -errno. */
static napi_value tap_arm(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  tap_t *t = unwrap(env, argv[0]);
  if (t == NULL) return NULL;
  if (t->closed) return make_int(env, -EBADF);
  napi_valuetype type;
  if (argc < 2 || napi_typeof(env, argv[1], &type) != napi_ok || type != napi_function) {
    napi_throw_type_error(env, NULL, "iotnet_tap: arm(handle, callback)");
    return NULL;
  }
  /* The link passes the same function every time: keep the reference (no allocation
     per wake-up), replace it only for a different one. */
  bool same = false;
  if (t->cb != NULL) {
    napi_value current;
    if (napi_get_reference_value(env, t->cb, &current) == napi_ok && current != NULL) napi_strict_equals(env, current, argv[1], &same);
    if (!same) {
      napi_delete_reference(env, t->cb);
      t->cb = NULL;
    }
  }
  if (t->cb == NULL) CHECK(napi_create_reference(env, argv[1], 1, &t->cb));
  if (!t->polling) {
    int r = uv_poll_start(t->poll, UV_READABLE, on_readable);
    if (r != 0) return make_int(env, r);
    t->polling = 1;
  }
  t->wanted = 1;
  return make_int(env, 0);
}

/* read(handle, area: Uint8Array, lengths: Int32Array, slot, max) -> count or -errno */
static napi_value tap_read(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  tap_t *t = unwrap(env, argv[0]);
  if (t == NULL) return NULL;
  if (t->closed) return make_int(env, -EBADF);
  napi_typedarray_type at, lt;
  size_t alen, llen;
  void *adata, *ldata;
  napi_value abuf;
  size_t aoff, loff;
  if (argc < 5 || napi_get_typedarray_info(env, argv[1], &at, &alen, &adata, &abuf, &aoff) != napi_ok || at != napi_uint8_array ||
      napi_get_typedarray_info(env, argv[2], &lt, &llen, &ldata, &abuf, &loff) != napi_ok || lt != napi_int32_array) {
    napi_throw_type_error(env, NULL, "iotnet_tap: read(handle, Uint8Array, Int32Array, slot, max)");
    return NULL;
  }
  int32_t slot = 0, max = 0;
  napi_get_value_int32(env, argv[3], &slot);
  napi_get_value_int32(env, argv[4], &max);
  if (slot <= 0 || max <= 0) return make_int(env, -EINVAL);
  if ((size_t)max > llen) max = (int32_t)llen;
  if ((size_t)max > alen / (size_t)slot) max = (int32_t)(alen / (size_t)slot);
  uint8_t *area = (uint8_t *)adata;
  int32_t *lengths = (int32_t *)ldata;
  int32_t n = 0;
  while (n < max) {
    ssize_t r = read(t->fd, area + (size_t)n * (size_t)slot, (size_t)slot);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (n == 0) return make_int(env, -errno);
      break;
    }
    lengths[n++] = (int32_t)r;
  }
  return make_int(env, n);
}

/* write(handle, frame: Uint8Array) -> bytes or -errno */
static napi_value tap_write(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  tap_t *t = unwrap(env, argv[0]);
  if (t == NULL) return NULL;
  if (t->closed) return make_int(env, -EBADF);
  napi_typedarray_type type;
  size_t len;
  void *data;
  napi_value ab;
  size_t off;
  if (argc < 2 || napi_get_typedarray_info(env, argv[1], &type, &len, &data, &ab, &off) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "iotnet_tap: write(handle, Uint8Array)");
    return NULL;
  }
  for (;;) {
    ssize_t r = write(t->fd, data, len);
    if (r < 0 && errno == EINTR) continue;
    return make_int(env, r < 0 ? -errno : (int64_t)r);
  }
}

/* close(handle) */
static napi_value tap_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  tap_t *t = unwrap(env, argv[0]);
  if (t == NULL) return NULL;
  release(t);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, tap_open, NULL, NULL, NULL, napi_default, NULL},
      {"arm", NULL, tap_arm, NULL, NULL, NULL, napi_default, NULL},
      {"read", NULL, tap_read, NULL, NULL, NULL, napi_default, NULL},
      {"write", NULL, tap_write, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, tap_close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
