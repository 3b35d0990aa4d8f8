# The CPU build, run by node-gyp-build on `npm install` when no prebuilt binary fits. Sources come from
# native/sources.json (shared with CMakeLists.txt). Each ISA's files are a static library with that
# ISA's flags; the addon picks a kernel at run time from CPUID, so one binary runs on any CPU. On AArch64,
# -ffp-contract=off: FMA is baseline there and GCC would fuse a * b + c in plain C++ that is written for
# separate roundings, as x86-64 does them (scripts/cross-arm64.sh says more).
{
  "target_defaults": {
    "cflags_cc": ["-std=c++17", "-O3", "-fvisibility=hidden", "-fexceptions", "-Wall", "-Wno-unused-function"],
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++1y", "-std=gnu++20"],
    "cflags!": ["-fno-exceptions"],
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
    "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
    "xcode_settings": {
      "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
      "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
      "MACOSX_DEPLOYMENT_TARGET": "11.0",
      "GCC_OPTIMIZATION_LEVEL": "3"
    },
    "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17"] } },
    "conditions": [
      ["target_arch=='arm64' and OS!='win'", { "cflags_cc": ["-ffp-contract=off"] }]
    ]
  },
  "targets": [
    {
      "target_name": "tensorkern",
      "sources": [
        "<!@(node scripts/sources.js core)",
        "<!@(node scripts/sources.js napi)",
        "<!@(node scripts/sources.js no_cuda)"
      ],
      "conditions": [
        ["target_arch=='x64'", { "dependencies": ["tk_avx2", "tk_avx512"] }],
        ["OS=='linux'", { "libraries": ["-ldl"] }],
        ["target_arch=='arm64'", { "dependencies": ["tk_neon"] }]
      ]
    }
  ],
  "conditions": [
    ["target_arch=='x64'", {
      "targets": [
        {
          "target_name": "tk_avx2",
          "type": "static_library",
          "sources": ["<!@(node scripts/sources.js avx2)"],
          "cflags": ["-fPIC", "<!@(node scripts/sources.js flags:avx2)"],
          "xcode_settings": { "OTHER_CFLAGS": ["<!@(node scripts/sources.js flags:avx2)"] }
        },
        {
          "target_name": "tk_avx512",
          "type": "static_library",
          "sources": ["<!@(node scripts/sources.js avx512)"],
          "cflags": ["-fPIC", "-Wno-maybe-uninitialized", "-Wno-uninitialized", "<!@(node scripts/sources.js flags:avx512)"],
          "xcode_settings": { "OTHER_CFLAGS": ["<!@(node scripts/sources.js flags:avx512)"] }
        }
      ]
    }],
    ["target_arch=='arm64'", {
      "targets": [
        {
          "target_name": "tk_neon",
          "type": "static_library",
          "sources": ["<!@(node scripts/sources.js neon)"],
          "cflags": ["-fPIC"]
        }
      ]
    }]
  ]
}
