// Each op's napi file exports one register_<op>(); addon.cc calls them all.
#pragma once
#include <napi.h>

namespace tk::napi {

void register_runtime(Napi::Env env, Napi::Object exports);
void register_host_memory(Napi::Env env, Napi::Object exports);
void register_graph(Napi::Env env, Napi::Object exports);
void register_cast(Napi::Env env, Napi::Object exports);
void register_block(Napi::Env env, Napi::Object exports);
void register_gemm(Napi::Env env, Napi::Object exports);
void register_bench(Napi::Env env, Napi::Object exports);
void register_spmm(Napi::Env env, Napi::Object exports);
void register_bench_spmm(Napi::Env env, Napi::Object exports);
void register_attention(Napi::Env env, Napi::Object exports);
void register_w4a4(Napi::Env env, Napi::Object exports);

}  // namespace tk::napi
