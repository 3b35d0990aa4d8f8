#include "../../core/op_hooks.h"
#include "spmm.h"

#include <string>
#include <vector>

#include "../../cuda/runtime.h"

namespace tk {
namespace {

int64_t index_at(const TensorView& t, int64_t i) { return t.dtype == DType::kInt64 ? t.as<int64_t>()[i] : t.as<int32_t>()[i]; }

}  // namespace

Status spmm_validate(const SpmmParams& p) {
  const std::string rows = std::to_string(p.rows), cols = std::to_string(p.cols);
  if (p.rows < 0 || p.cols < 0) return InvalidArgument("Expected a non-negative shape but received [" + rows + ", " + cols + "]");
  if (p.row_ptr.dtype != DType::kInt32 && p.row_ptr.dtype != DType::kInt64) {
    return TypeMismatch(std::string("Expected rowPtr of dtype int32 or int64 but received ") + dtype_name(p.row_ptr.dtype));
  }
  if (p.col_idx.dtype != p.row_ptr.dtype) {
    return TypeMismatch(std::string("Expected colIdx of dtype ") + dtype_name(p.row_ptr.dtype) + " (that of rowPtr) but received " +
                        dtype_name(p.col_idx.dtype));
  }
  if (p.values.dtype != DType::kFloat32)
    return TypeMismatch(std::string("Expected values of dtype float32 but received ") + dtype_name(p.values.dtype));
  if (p.row_ptr.ndim != 1 || p.row_ptr.shape[0] != p.rows + 1)
    return InvalidArgument("Expected rowPtr of shape [" + std::to_string(p.rows + 1) + "] but received " + shape_str(p.row_ptr));
  const int64_t nnz = p.col_idx.ndim == 1 ? p.col_idx.shape[0] : -1;
  if (nnz < 0) return InvalidArgument("Expected a rank-1 colIdx but received " + shape_str(p.col_idx));
  if (p.values.ndim != 1 || p.values.shape[0] != nnz)
    return InvalidArgument("Expected values of shape [" + std::to_string(nnz) + "] (the length of colIdx) but received " +
                           shape_str(p.values));
  if (!p.row_ptr.device.is_cpu() || !p.col_idx.device.is_cpu() || !p.values.device.is_cpu())
    return InvalidArgument("Expected the sparse matrix's arrays in host memory");
  if (p.kernel < kSpmmAuto || p.kernel > kSpmmTiles)
    return InvalidArgument("Expected kernel 0..3 but received " + std::to_string(p.kernel));
  if (index_at(p.row_ptr, 0) != 0) return InvalidArgument("Expected rowPtr[0] = 0 but received " + std::to_string(index_at(p.row_ptr, 0)));
  if (index_at(p.row_ptr, p.rows) != nnz) {
    return InvalidArgument("Expected rowPtr[" + rows + "] = " + std::to_string(nnz) + " (the number of nonzeros) but received " +
                           std::to_string(index_at(p.row_ptr, p.rows)));
  }
  if (p.b.dtype != DType::kFloat32) return TypeMismatch(std::string("Expected b of dtype float32 but received ") + dtype_name(p.b.dtype));
  if (p.b.ndim != 2 || p.b.shape[0] != p.cols)
    return InvalidArgument("Expected b of shape [" + cols + ", N] but received " + shape_str(p.b));
  const int64_t n = p.b.shape[1];
  const std::string want = "[" + rows + ", " + std::to_string(n) + "]";
  if (p.out.dtype != DType::kFloat32)
    return TypeMismatch(std::string("Expected out of dtype float32 but received ") + dtype_name(p.out.dtype));
  if (p.out.ndim != 2 || p.out.shape[0] != p.rows || p.out.shape[1] != n)
    return InvalidArgument("Expected out of shape " + want + " but received " + shape_str(p.out));
  if (present(p.c)) {
    if (p.c.dtype != DType::kFloat32) return TypeMismatch(std::string("Expected c of dtype float32 but received ") + dtype_name(p.c.dtype));
    if (p.c.ndim != 2 || p.c.shape[0] != p.rows || p.c.shape[1] != n)
      return InvalidArgument("Expected c of shape " + want + " but received " + shape_str(p.c));
    if (p.c.device != p.b.device) return InvalidArgument("Expected c on " + p.b.device.str() + " but it is on " + p.c.device.str());
  } else if (p.beta != 0.0f) {
    return InvalidArgument("Expected c when beta is nonzero");
  }
  if (p.out.device != p.b.device)
    return InvalidArgument("Expected out on " + p.b.device.str() + " (where b is) but it is on " + p.out.device.str());
  if (p.run_device >= 0 && !p.b.device.is_cpu()) return InvalidArgument("runDevice applies to host tensors only");
  if (p.b.device.is_cuda() || p.run_device >= 0) {
    const Device d = p.b.device.is_cuda() ? p.b.device : Device::cuda(p.run_device);
    const SpmmDeviceForm& f = p.dev;
    auto same = [&](const TensorView& t, const TensorView& host, const char* name) -> Status {
      if (!present(t)) return InvalidArgument(std::string("Expected the device copy of ") + name + " on " + d.str());
      if (t.device != d)
        return InvalidArgument(std::string("Expected the device copy of ") + name + " on " + d.str() + " but it is on " + t.device.str());
      if (t.dtype != host.dtype || t.ndim != 1 || t.shape[0] != host.shape[0])
        return InvalidArgument(std::string("Expected the device copy of ") + name + " to match the host array " + shape_str(host) +
                               " but received " + shape_str(t));
      return Status::Ok();
    };
    TK_RETURN_IF_ERROR(same(f.row_ptr, p.row_ptr, "rowPtr"));
    TK_RETURN_IF_ERROR(same(f.col_idx, p.col_idx, "colIdx"));
    TK_RETURN_IF_ERROR(same(f.values, p.values, "values"));
    if (present(f.perm) || present(f.panel_ptr) || present(f.block_col) || present(f.block_values)) {
      const int64_t panels = (p.rows + 15) / 16;
      const int64_t blocks = present(f.block_col) && f.block_col.ndim == 1 ? f.block_col.shape[0] : -1;
      auto one = [&](const TensorView& t, DType dt, int64_t len, const char* name) -> Status {
        if (!present(t) || t.device != d || t.dtype != dt || t.ndim != 1 || t.shape[0] != len) {
          return InvalidArgument(std::string("Expected the blocked form's ") + name + " as " + dtype_name(dt) + " [" + std::to_string(len) +
                                 "] on " + d.str() + " but received " +
                                 (present(t) ? shape_str(t) + " on " + t.device.str() : std::string("none")));
        }
        return Status::Ok();
      };
      if (blocks < 0) return InvalidArgument("Expected the blocked form's blockCol as a rank-1 int32 array");
      TK_RETURN_IF_ERROR(one(f.perm, DType::kInt32, p.rows, "perm"));
      TK_RETURN_IF_ERROR(one(f.panel_ptr, DType::kInt32, panels + 1, "panelPtr"));
      TK_RETURN_IF_ERROR(one(f.block_col, DType::kInt32, blocks, "blockCol"));
      TK_RETURN_IF_ERROR(one(f.block_values, DType::kFloat32, blocks * 128, "blockValues"));
    }
  }
  return Status::Ok();
}

Status spmm(const SpmmParams& p) {
  TK_RETURN_IF_ERROR(spmm_validate(p));
  if (p.b.device.is_cuda()) return spmm_cuda(p, p.b.device.index);
  if (p.run_device >= 0) return spmm_cuda_host(p, p.run_device);
  return spmm_cpu(p);
}

Status spmm_cuda_host(const SpmmParams& p, int device) {
  if (!cuda::usable(device)) return NoGpu("CUDA device " + std::to_string(device) + " is not usable: " + cuda::probe().why_no_gpu);
  cuda::DeviceCopies d(device);
  SpmmParams q = p;
  TK_RETURN_IF_ERROR(d.copy_in(p.b, &q.b, true));
  // c may be out itself (an in-place update): then out's device copy starts as c.
  const bool has_c = present(p.c) && p.beta != 0.0f;
  const bool c_is_out = has_c && p.c.data == p.out.data;
  TK_RETURN_IF_ERROR(d.copy_in(p.out, &q.out, c_is_out));
  if (c_is_out) {
    q.c = p.c;
    q.c.device = Device::cuda(device);
    q.c.data = q.out.data;
  } else if (has_c) {
    TK_RETURN_IF_ERROR(d.copy_in(p.c, &q.c, true));
  } else {
    q.c = absent_tensor();
  }
  q.run_device = -1;
  TK_RETURN_IF_ERROR(spmm_cuda(q, device));
  return cuda::copy_to_host(device, p.out.data, q.out.data, p.out.nbytes());
}

Status spmm_set_path(const std::string& device, const std::string& path, int splits, std::string* in_use) {
  if (device != "cpu" && device != "cuda") return unknown_device("spmm", device);
  if (path != "auto" || splits != 0) return unknown_path("spmm", device, path, splits, "'auto' (splits 0)");
  *in_use = path;
  return Status::Ok();
}

std::string spmm_last_kernel(const std::string& device) { return device == "cuda" ? spmm_cuda_last_kernel() : spmm_cpu_last_kernel(); }

#if !defined(TK_WITH_CUDA)
Status spmm_cuda(const SpmmParams&, int) { return NoGpu("spmm on a CUDA device: this tensorkern binary was built without CUDA"); }
std::string spmm_cuda_last_kernel() { return ""; }
Status spmm_cuda_time(const SpmmParams&, int, int, std::vector<double>*) {
  return NoGpu("spmm on a CUDA device: this tensorkern binary was built without CUDA");
}
#endif

}  // namespace tk
