#include "spmm.h"

#include <string>

namespace tk {
namespace {

int64_t index_at(const TensorView& t, int64_t i) {
  return t.dtype == DType::kInt64 ? t.as<int64_t>()[i] : t.as<int32_t>()[i];
}

}  // namespace

Status spmm_validate(const SpmmParams& p) {
  const std::string rows = std::to_string(p.rows), cols = std::to_string(p.cols);
  if (p.rows < 0 || p.cols < 0) return InvalidArgument("Expected a non-negative shape but received [" + rows + ", " + cols + "]");
  if (p.row_ptr.dtype != DType::kInt32 && p.row_ptr.dtype != DType::kInt64) {
    return TypeMismatch(std::string("Expected rowPtr of dtype int32 or int64 but received ") + dtype_name(p.row_ptr.dtype));
  }
  if (p.col_idx.dtype != p.row_ptr.dtype) {
    return TypeMismatch(std::string("Expected colIdx of dtype ") + dtype_name(p.row_ptr.dtype) + " (that of rowPtr) but received " + dtype_name(p.col_idx.dtype));
  }
  if (p.values.dtype != DType::kFloat32) return TypeMismatch(std::string("Expected values of dtype float32 but received ") + dtype_name(p.values.dtype));
  if (p.row_ptr.ndim != 1 || p.row_ptr.shape[0] != p.rows + 1) return InvalidArgument("Expected rowPtr of shape [" + std::to_string(p.rows + 1) + "] but received " + shape_str(p.row_ptr));
  const int64_t nnz = p.col_idx.ndim == 1 ? p.col_idx.shape[0] : -1;
  if (nnz < 0) return InvalidArgument("Expected a rank-1 colIdx but received " + shape_str(p.col_idx));
  if (p.values.ndim != 1 || p.values.shape[0] != nnz) return InvalidArgument("Expected values of shape [" + std::to_string(nnz) + "] (the length of colIdx) but received " + shape_str(p.values));
  if (!p.row_ptr.device.is_cpu() || !p.col_idx.device.is_cpu() || !p.values.device.is_cpu()) return InvalidArgument("Expected the sparse matrix's arrays in host memory");
  if (index_at(p.row_ptr, 0) != 0) return InvalidArgument("Expected rowPtr[0] = 0 but received " + std::to_string(index_at(p.row_ptr, 0)));
  if (index_at(p.row_ptr, p.rows) != nnz) {
    return InvalidArgument("Expected rowPtr[" + rows + "] = " + std::to_string(nnz) + " (the number of nonzeros) but received " + std::to_string(index_at(p.row_ptr, p.rows)));
  }
  if (p.b.dtype != DType::kFloat32) return TypeMismatch(std::string("Expected b of dtype float32 but received ") + dtype_name(p.b.dtype));
  if (p.b.ndim != 2 || p.b.shape[0] != p.cols) return InvalidArgument("Expected b of shape [" + cols + ", N] but received " + shape_str(p.b));
  const int64_t n = p.b.shape[1];
  const std::string want = "[" + rows + ", " + std::to_string(n) + "]";
  if (p.out.dtype != DType::kFloat32) return TypeMismatch(std::string("Expected out of dtype float32 but received ") + dtype_name(p.out.dtype));
  if (p.out.ndim != 2 || p.out.shape[0] != p.rows || p.out.shape[1] != n) return InvalidArgument("Expected out of shape " + want + " but received " + shape_str(p.out));
  if (present(p.c)) {
    if (p.c.dtype != DType::kFloat32) return TypeMismatch(std::string("Expected c of dtype float32 but received ") + dtype_name(p.c.dtype));
    if (p.c.ndim != 2 || p.c.shape[0] != p.rows || p.c.shape[1] != n) return InvalidArgument("Expected c of shape " + want + " but received " + shape_str(p.c));
    if (p.c.device != p.b.device) return InvalidArgument("Expected c on " + p.b.device.str() + " but it is on " + p.c.device.str());
  } else if (p.beta != 0.0f) {
    return InvalidArgument("Expected c when beta is nonzero");
  }
  if (p.out.device != p.b.device) return InvalidArgument("Expected out on " + p.b.device.str() + " (where b is) but it is on " + p.out.device.str());
  return Status::Ok();
}

Status spmm(const SpmmParams& p) {
  TK_RETURN_IF_ERROR(spmm_validate(p));
  if (p.b.device.is_cuda()) return Unsupported("spmm on CUDA devices is not built yet (the blocked tensor-core kernel is the next step); use CPU tensors");
  return spmm_cpu(p);
}

}  // namespace tk
