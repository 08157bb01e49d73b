{
  "targets": [
    {
      "target_name": "iotnet_pty",
      "sources": ["pty.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=c11"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"]
    }
  ]
}
