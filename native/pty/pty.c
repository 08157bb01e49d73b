/*
 * iotnet_pty: a small N-API addon that opens a pseudo-terminal pair for serial-port
 * simulations, without socat, and moves bytes over its master side without blocking.
 * (Node's own tty.ReadStream accepts a pty master fd but uses blocking writes on it, as
 * libuv does for any tty it cannot reopen: a write bigger than the pty buffer then
 * blocks the loop, a deadlock when the reader is in the same process.)
 *   - `open()`: posix_openpt / grantpt / unlockpt / ptsname_r; the master is made
 *     non-blocking; the slave is opened once and put in raw mode (cfmakeraw, 115200 baud,
 *     CLOCAL|CREAD) and kept open for the life of the pair: while a slave fd is open, reads
 *     on the master never fail with EIO, so the device path can be opened, closed and
 *     opened again by a serial-port client (as a real UART outlives the host program
 *     that opens it). Returns a handle `{ path, master }`.
 *   - `watch(handle, events, cb)`: level-triggered interest (1 readable, 2 writable, 0
 *     none) on the master, watched by a `uv_poll_t` on the main loop; `cb(status, events)`
 *     runs through napi_make_callback (microtasks drain). JavaScript reads until EAGAIN
 *     and asks for writable only while it has bytes queued.
 *   - `read(handle, buf)`, `write(handle, buf)`: bytes moved, or -errno (-11 EAGAIN).
 *   - `baudRate(handle)`: the output speed of the pair's termios (set by whoever opened
 *     the slave, e.g. serialport's baudRate or update()) in bits per second, or -errno.
 *   - `close(handle)`: stops the poll, closes both fds. Idempotent.
 * All fds are O_CLOEXEC; nothing is module-global.
 */
#include <node_api.h>
#include "../common/iotnet-napi.h"
#include <uv.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* Throws an Error with `code` (a short name), `errno` e and message "<what>: strerror(e)". */
static napi_value throw_errno(napi_env env, const char *code_name, const char *what, int e) {
  napi_value err, code, msg;
  char text[256];
  snprintf(text, sizeof text, "iotnet_pty: %s: %s", what, strerror(e));
  napi_create_string_utf8(env, code_name, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &err);
  napi_set_named_property(env, err, "errno", make_int(env, e));
  napi_throw(env, err);
  return NULL;
}

static const char *errno_name(int e) {
  switch (e) {
    case EACCES: return "EACCES";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case ENOENT: return "ENOENT";
    case ENOSPC: return "ENOSPC";
    case EAGAIN: return "EAGAIN";
    default: return "EIO";
  }
}

typedef struct pty_s {
  int master;
  int slave;
  int closed;
  int events;      /* current uv_poll interest */
  uv_poll_t *poll; /* freed in its close callback */
  napi_env env;
  napi_ref cb;
  napi_async_context ctx;
  char path[128];
} pty_t;

static pty_t *unwrap(napi_env env, napi_value obj) {
  pty_t *t = NULL;
  if (napi_unwrap(env, obj, (void **)&t) != napi_ok || t == NULL) {
    napi_throw_type_error(env, NULL, "iotnet_pty: not a pty handle");
    return NULL;
  }
  return t;
}

static void release(pty_t *t) {
  if (t->closed) return;
  t->closed = 1;
  iotnet_watch_release(t->env, &t->poll, &t->cb, &t->ctx);
  if (t->master >= 0) close(t->master);
  if (t->slave >= 0) close(t->slave);
  t->master = t->slave = -1;
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  pty_t *t = (pty_t *)data;
  release(t);
  free(t);
}

static void on_event(uv_poll_t *p, int status, int events) {
  pty_t *t = (pty_t *)p->data;
  if (t == NULL || t->closed || t->cb == NULL) return;
  const int64_t args[2] = {status, events};
  iotnet_watch_call(t->env, t->cb, t->ctx, 2, args);
}

static napi_value pty_open(napi_env env, napi_callback_info info) {
  (void)info;
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return throw_errno(env, errno_name(errno), "posix_openpt", errno);
  char path[128];
  int fl = fcntl(master, F_GETFL);
  if (fl < 0 || fcntl(master, F_SETFL, fl | O_NONBLOCK) != 0 || grantpt(master) != 0 || unlockpt(master) != 0 ||
      ptsname_r(master, path, sizeof path) != 0) {
    int e = errno;
    close(master);
    return throw_errno(env, errno_name(e), "grantpt/unlockpt/ptsname", e);
  }
  int slave = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) {
    int e = errno;
    close(master);
    return throw_errno(env, errno_name(e), "open slave", e);
  }
  struct termios tio;
  if (tcgetattr(slave, &tio) == 0) {
    cfmakeraw(&tio);
    tio.c_cflag |= CLOCAL | CREAD;
    tio.c_cc[VMIN] = 1;
    tio.c_cc[VTIME] = 0;
    cfsetispeed(&tio, B115200);
    cfsetospeed(&tio, B115200);
    tcsetattr(slave, TCSANOW, &tio);
  }
  pty_t *t = (pty_t *)calloc(1, sizeof(pty_t));
  uv_loop_t *loop = NULL;
  if (t != NULL) t->poll = (uv_poll_t *)calloc(1, sizeof(uv_poll_t));
  if (t == NULL || t->poll == NULL || napi_get_uv_event_loop(env, &loop) != napi_ok || uv_poll_init(loop, t->poll, master) != 0) {
    if (t != NULL) free(t->poll);
    free(t);
    close(slave);
    close(master);
    napi_throw_error(env, "ENOMEM", "iotnet_pty: cannot watch the pty master");
    return NULL;
  }
  t->master = master;
  t->slave = slave;
  t->env = env;
  t->poll->data = t;
  snprintf(t->path, sizeof t->path, "%s", path);
  napi_value obj, resource_name, p;
  if (napi_create_object(env, &obj) != napi_ok ||
      napi_create_string_utf8(env, "iotnet:pty", NAPI_AUTO_LENGTH, &resource_name) != napi_ok ||
      napi_async_init(env, obj, resource_name, &t->ctx) != napi_ok || napi_wrap(env, obj, t, finalize, NULL, NULL) != napi_ok) {
    release(t);
    free(t);
    napi_throw_error(env, NULL, "iotnet_pty: N-API call failed");
    return NULL;
  }
  napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &p);
  napi_set_named_property(env, obj, "path", p);
  napi_set_named_property(env, obj, "master", make_int(env, master));
  return obj;
}

/* watch(handle, events, cb) -> 0 or -errno */
static napi_value pty_watch(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t events = 0;
  napi_valuetype type;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 ||
      napi_get_value_int32(env, argv[1], &events) != napi_ok || napi_typeof(env, argv[2], &type) != napi_ok ||
      type != napi_function) {
    napi_throw_type_error(env, NULL, "iotnet_pty: watch(handle, events, callback)");
    return NULL;
  }
  pty_t *t = unwrap(env, argv[0]);
  if (t == NULL) return NULL;
  if (t->closed) return make_int(env, -EBADF);
  bool same = false;
  if (t->cb != NULL) {
    napi_value current;
    if (napi_get_reference_value(env, t->cb, &current) == napi_ok && current != NULL) napi_strict_equals(env, current, argv[2], &same);
    if (!same) {
      napi_delete_reference(env, t->cb);
      t->cb = NULL;
    }
  }
  if (t->cb == NULL && napi_create_reference(env, argv[2], 1, &t->cb) != napi_ok) return make_int(env, -ENOMEM);
  int mask = ((events & 1) ? UV_READABLE : 0) | ((events & 2) ? UV_WRITABLE : 0);
  if (mask == t->events) return make_int(env, 0);
  int r = mask == 0 ? uv_poll_stop(t->poll) : uv_poll_start(t->poll, mask, on_event);
  if (r == 0) t->events = mask;
  return make_int(env, r);
}

static int buf_args(napi_env env, napi_callback_info info, pty_t **t, void **data, size_t *len) {
  size_t argc = 2;
  napi_value argv[2];
  napi_typedarray_type type;
  napi_value ab;
  size_t off;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      napi_get_typedarray_info(env, argv[1], &type, len, data, &ab, &off) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "iotnet_pty: expected (handle, Uint8Array)");
    return 0;
  }
  *t = unwrap(env, argv[0]);
  return *t != NULL;
}

/* read(handle, buf) / write(handle, buf) -> bytes moved or -errno */
static napi_value pty_io(napi_env env, napi_callback_info info, int writing) {
  pty_t *t;
  void *data;
  size_t len;
  if (!buf_args(env, info, &t, &data, &len)) return NULL;
  if (t->closed) return make_int(env, -EBADF);
  for (;;) {
    ssize_t r = writing ? write(t->master, data, len) : read(t->master, data, len);
    if (r < 0 && errno == EINTR) continue;
    return make_int(env, r < 0 ? -errno : (int64_t)r);
  }
}

static napi_value pty_read(napi_env env, napi_callback_info info) { return pty_io(env, info, 0); }
static napi_value pty_write(napi_env env, napi_callback_info info) { return pty_io(env, info, 1); }

static const struct { speed_t code; int64_t bps; } SPEEDS[] = {
  {B0, 0}, {B50, 50}, {B75, 75}, {B110, 110}, {B134, 134}, {B150, 150}, {B200, 200}, {B300, 300},
  {B600, 600}, {B1200, 1200}, {B1800, 1800}, {B2400, 2400}, {B4800, 4800}, {B9600, 9600},
  {B19200, 19200}, {B38400, 38400}, {B57600, 57600}, {B115200, 115200}, {B230400, 230400},
  {B460800, 460800}, {B500000, 500000}, {B576000, 576000}, {B921600, 921600}, {B1000000, 1000000},
  {B1152000, 1152000}, {B1500000, 1500000}, {B2000000, 2000000}, {B2500000, 2500000},
  {B3000000, 3000000}, {B3500000, 3500000}, {B4000000, 4000000},
};

static napi_value pty_baud_rate(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) return make_int(env, -EINVAL);
  pty_t *t = unwrap(env, argv[0]);
  if (t == NULL) return NULL;
  if (t->closed) return make_int(env, -EBADF);
  struct termios tio;
  if (tcgetattr(t->slave, &tio) != 0) return make_int(env, -errno);
  speed_t s = cfgetospeed(&tio);
  for (size_t i = 0; i < sizeof SPEEDS / sizeof SPEEDS[0]; i++) {
    if (SPEEDS[i].code == s) return make_int(env, SPEEDS[i].bps);
  }
  return make_int(env, -EINVAL);
}

static napi_value pty_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) return NULL;
  pty_t *t = unwrap(env, argv[0]);
  if (t != NULL) release(t);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"open", NULL, pty_open, NULL, NULL, NULL, napi_enumerable, NULL},
    {"watch", NULL, pty_watch, NULL, NULL, NULL, napi_enumerable, NULL},
    {"read", NULL, pty_read, NULL, NULL, NULL, napi_enumerable, NULL},
    {"write", NULL, pty_write, NULL, NULL, NULL, napi_enumerable, NULL},
    {"baudRate", NULL, pty_baud_rate, NULL, NULL, NULL, napi_enumerable, NULL},
    {"close", NULL, pty_close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
