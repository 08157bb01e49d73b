/*
 * Shared by iotnet's N-API addons (native/tap, native/pty): a file descriptor watched by
 * a uv_poll_t on the main loop whose wake-ups call one JavaScript function. Each addon
 * keeps its own handle struct; these helpers take the fields that pattern needs.
 * Header-only (static inline): each addon stays a single translation unit.
 */
#ifndef IOTNET_NAPI_H
#define IOTNET_NAPI_H

#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <uv.h>

static inline napi_value make_int(napi_env env, int64_t v) {
  napi_value r;
  napi_create_int64(env, v, &r);
  return r;
}

static inline void iotnet_poll_closed(uv_handle_t *h) { free(h); }

/*
 * Stops and closes `*poll` (freed in its close callback), drops the callback reference
 * and the async context; each is set to NULL. Safe on fields already released.
 */
static inline void iotnet_watch_release(napi_env env, uv_poll_t **poll, napi_ref *cb, napi_async_context *ctx) {
  if (*poll != NULL) {
    uv_poll_stop(*poll);
    uv_close((uv_handle_t *)*poll, iotnet_poll_closed);
    *poll = NULL;
  }
  if (*cb != NULL) {
    napi_delete_reference(env, *cb);
    *cb = NULL;
  }
  if (*ctx != NULL) {
    napi_async_destroy(env, *ctx);
    *ctx = NULL;
  }
}

/* Calls the function behind `cb` with `argc` integer arguments, through napi_make_callback (microtasks drain). */
static inline void iotnet_watch_call(napi_env env, napi_ref cb, napi_async_context ctx, size_t argc, const int64_t *args) {
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value fn, recv, argv[4], result;
  if (argc > 4) argc = 4;
  if (napi_get_reference_value(env, cb, &fn) == napi_ok && fn != NULL) {
    napi_get_global(env, &recv);
    for (size_t i = 0; i < argc; i++) argv[i] = make_int(env, args[i]);
    napi_make_callback(env, ctx, recv, fn, argc, argv, &result);
  }
  napi_close_handle_scope(env, scope);
}

#endif
