{
  "targets": [
    {
      "target_name": "palisade_collector",
      "sources": [
        "src/addon.c", "src/collector.c", "src/record.c", "src/probe.c"
      ],
      "include_dirs": ["../../bpf/include", "src"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fno-strict-aliasing",
                 "<!@(pkg-config --cflags libbpf)"],
      "libraries": ["<!@(pkg-config --libs libbpf)", "-lelf", "-lz", "-lpthread"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
