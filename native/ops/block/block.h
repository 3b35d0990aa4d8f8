// Transformer block ops: the small, memory-bound steps of a decoder layer around its GEMMs and
// attention (rmsNorm, rope, silu, swiglu, add, softmax, embedding, argmax, topk, kvAppend).
//
// block_validate() checks shapes, dtypes and devices once, before run_op. block() does all of the
// work, including reading the int32 host tensors of positions / ids and range-checking every value,
// so that a recorded closure replayed with new tensor contents reads and checks the new values; an
// out-of-range value is an OutOfRange Status and nothing is written.
#pragma once
#include <cstdint>

#include "../../core/status.h"
#include "../../core/tensor_view.h"

namespace tk {

enum class BlockOp : int32_t { kRmsNorm, kRope, kSilu, kSwiglu, kAdd, kSoftmax, kEmbedding, kArgmax, kTopk, kKvAppend };

struct BlockParams {
  BlockOp op = BlockOp::kSilu;
  // The input: x (rmsNorm, rope, silu, softmax, argmax, topk, kvAppend), gate (swiglu), a (add),
  // table (embedding).
  TensorView a;
  // weight [D] (rmsNorm), up (swiglu), b (add; its shape a suffix of a's).
  TensorView b = absent_view();
  // int32 host tensor read at run time: positions [S] / [B, S] (rope), ids [T] / [B, T] (embedding),
  // position [1] / [B] (kvAppend). Absent: `start` is used.
  TensorView idx = absent_view();
  // The result; the cache (kvAppend); values (topk).
  TensorView out;
  // indices (topk).
  TensorView out2 = absent_view();
  int64_t start = 0;       // rope: position of row 0; kvAppend: the position (when idx is absent)
  float eps = 1e-5f;       // rmsNorm
  float theta = 10000.0f;  // rope
  bool rope_half = false;  // rope: 'half' style (else 'interleaved')
  int64_t k = 0;           // topk
  int seq_dim = 0;         // kvAppend: 0 cache [Smax, ...rest], 1 cache [B, Smax, ...rest]
};

const char* block_op_name(BlockOp op);
Status block_validate(const BlockParams& p);
Status block(const BlockParams& p);

// Row geometry every backend uses (after block_validate).
struct BlockDims {
  int64_t rows = 0, cols = 0;          // rows x last dim (row ops); elementwise: rows = 1, cols = numel
  int64_t B = 1, S = 0, H = 0, D = 0;  // rope: [B, S, H, D]; kvAppend: B, S (x rows), Smax in H, row in D
};
BlockDims block_dims(const BlockParams& p);

// `idx` below: the run-time values of p.idx, already range-checked, expanded where the op needs
// one value per row (rope: B * S positions; kvAppend: B positions; embedding: the ids); nullptr
// when p.idx is absent.
Status block_cpu(const BlockParams& p, const BlockDims& d, const int32_t* idx);
Status block_cuda(const BlockParams& p, const BlockDims& d, const int32_t* idx, int64_t nidx);

}  // namespace tk
