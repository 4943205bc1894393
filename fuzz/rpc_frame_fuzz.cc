// libFuzzer harness for the RPC frame decoder: any byte string must decode to
// a valid header or a ProtocolError, never crash or read out of bounds.
// Build: cmake -DSTRATA_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ ...; run:
// build-fuzz/fuzz/rpc_frame_fuzz -max_total_time=60
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rpc/frame.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace strata::rpc;
  if (size < kFrameHeaderSize) return 0;
  auto header = DecodeFrameHeader(reinterpret_cast<const char*>(data), FrameLimits{});
  if (!header.ok()) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + kFrameHeaderSize, size - kFrameHeaderSize);
  if (rest.size() < static_cast<size_t>(header->meta_len) + header->bulk_len) return 0;
  (void)BodyCrc(rest.substr(0, header->meta_len), rest.substr(header->meta_len, header->bulk_len));
  return 0;
}
