#include "block/client/block_client.h"

#include <asio/post.hpp>
#include <asio/thread_pool.hpp>

#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "block/client/volume_layout.h"
#include "common/crc32c.h"
#include "common/logging.h"

namespace strata::block {

class BlockClient::Pool {
 public:
  explicit Pool(uint32_t threads) : pool_(threads) {}
  ~Pool() { pool_.join(); }
  void Post(std::function<void()> fn) { asio::post(pool_, std::move(fn)); }

 private:
  asio::thread_pool pool_;
};

namespace {

using Clock = std::chrono::steady_clock;

bool Retryable(const Status& st) {
  switch (st.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange:
    case StatusCode::kNotSupported:
    case StatusCode::kPermissionDenied:
    case StatusCode::kNoSpace:
      return false;
    default:
      return true;
  }
}

// One volume as one NBD connection sees it.
class ClientVolume final : public nbd::Volume {
 public:
  ClientVolume(BlockClient* client, GetVolumeResponse view)
      : client_(client), info_(ExportInfoOf(view.volume())), name_(view.volume().name()),
        volume_id_(view.volume().id()), layout_(view.volume().geometry()) {
    Adopt(view);
  }

  const nbd::ExportInfo& info() const override { return info_; }

  void Read(uint64_t offset, uint32_t length, ReadDone done) override {
    client_->Post([this, offset, length, done = std::move(done)] {
      std::string out(length, '\0');
      auto pieces = layout_.Map(offset, length);
      Status st = Run(
          pieces.size(), [&](size_t i) { return pieces[i].segment; },
          [&](size_t i, const SegmentRef& ref, const std::string& addr) {
            BsReadRequest req;
            *req.mutable_segment() = ref;
            req.set_offset(pieces[i].segment_offset);
            req.set_length(static_cast<uint32_t>(pieces[i].length));
            return client_->rpc().CallAsync(addr, BS_READ, req.SerializeAsString(), "",
                                            client_->options().rpc_timeout_ms);
          },
          [&](size_t i, rpc::RpcReply& reply) -> Status {
            BsReadResponse resp;
            if (!resp.ParseFromString(reply.meta)) return Status::ProtocolError("bad read reply");
            if (reply.bulk.size() != pieces[i].length) return Status::ProtocolError("read reply length mismatch");
            if (Crc32c(reply.bulk) != resp.data_crc()) return Status::Corruption("read reply checksum mismatch");
            std::memcpy(out.data() + (pieces[i].volume_offset - offset), reply.bulk.data(), reply.bulk.size());
            return Status::Ok();
          });
      done(st, st.ok() ? std::move(out) : std::string());
    });
  }

  void Write(uint64_t offset, std::string data, bool, Done done) override {
    // Every write is durable when acknowledged: FUA needs nothing more.
    client_->Post([this, offset, data = std::move(data), done = std::move(done)] {
      auto pieces = layout_.Map(offset, data.size());
      Status st = Run(
          pieces.size(), [&](size_t i) { return pieces[i].segment; },
          [&](size_t i, const SegmentRef& ref, const std::string& addr) {
            std::string_view bytes(data.data() + (pieces[i].volume_offset - offset), pieces[i].length);
            BsWriteRequest req;
            *req.mutable_segment() = ref;
            req.set_offset(pieces[i].segment_offset);
            req.set_data_crc(Crc32c(bytes));
            return client_->rpc().CallAsync(addr, BS_WRITE, req.SerializeAsString(), std::string(bytes),
                                            client_->options().rpc_timeout_ms);
          },
          [](size_t, rpc::RpcReply&) { return Status::Ok(); });
      done(st);
    });
  }

  void Flush(Done done) override { done(Status::Ok()); }

  void Trim(uint64_t offset, uint32_t length, Done done) override { Deallocate(offset, length, false, std::move(done)); }

  void WriteZeroes(uint64_t offset, uint32_t length, bool, bool, Done done) override {
    // Zeros are recorded in the index, never written: always fast, and the
    // range reads back as zeros whether or not it was deallocated.
    Deallocate(offset, length, true, std::move(done));
  }

  void BlockStatus(uint64_t offset, uint32_t length, StatusDone done) override {
    client_->Post([this, offset, length, done = std::move(done)] {
      std::vector<nbd::Extent> extents;
      Status st = StatusFromBlockStatus(offset, length, &extents);
      done(st, std::move(extents));
    });
  }

 private:
  void Deallocate(uint64_t offset, uint32_t length, bool zero, Done done) {
    client_->Post([this, offset, length, zero, done = std::move(done)] {
      auto pieces = layout_.Map(offset, length);
      Status st = Run(
          pieces.size(), [&](size_t i) { return pieces[i].segment; },
          [&](size_t i, const SegmentRef& ref, const std::string& addr) {
            BsTrimRequest req;
            *req.mutable_segment() = ref;
            req.set_offset(pieces[i].segment_offset);
            req.set_length(pieces[i].length);
            req.set_zero(zero);
            return client_->rpc().CallAsync(addr, BS_TRIM, req.SerializeAsString(), "",
                                            client_->options().rpc_timeout_ms);
          },
          [](size_t, rpc::RpcReply&) { return Status::Ok(); });
      done(st);
    });
  }

  // Asks each segment of the range's first group once for its runs over
  // the rows the range touches, then deals the units back in volume order.
  Status StatusFromBlockStatus(uint64_t offset, uint32_t length, std::vector<nbd::Extent>* extents) {
    uint64_t stripe = layout_.stripe_unit_bytes();
    uint32_t n = layout_.segments_per_group();
    uint64_t group_bytes = layout_.segment_size_bytes() * n;
    // Stay inside one group and at most kStatusUnitsMax units per reply.
    constexpr uint64_t kStatusUnitsMax = 8192;
    uint64_t end = std::min<uint64_t>(offset + length, (offset / group_bytes + 1) * group_bytes);
    end = std::min<uint64_t>(end, (offset / stripe + kStatusUnitsMax) * stripe);
    SegmentPiece first = layout_.Locate(offset);
    uint32_t group_first = first.segment / n * n;
    uint64_t row_first = (offset % group_bytes) / stripe / n;
    uint64_t row_last = ((end - 1) % group_bytes) / stripe / n;
    uint64_t seg_off = row_first * stripe;
    uint64_t seg_len = (row_last - row_first + 1) * stripe;
    std::vector<std::vector<BsExtent>> runs(n);
    Status st = Run(
        n, [&](size_t i) { return group_first + static_cast<uint32_t>(i); },
        [&](size_t, const SegmentRef& ref, const std::string& addr) {
          BsBlockStatusRequest req;
          *req.mutable_segment() = ref;
          req.set_offset(seg_off);
          req.set_length(seg_len);
          return client_->rpc().CallAsync(addr, BS_BLOCK_STATUS, req.SerializeAsString(), "",
                                          client_->options().rpc_timeout_ms);
        },
        [&](size_t i, rpc::RpcReply& reply) -> Status {
          BsBlockStatusResponse resp;
          if (!resp.ParseFromString(reply.meta)) return Status::ProtocolError("bad block status reply");
          runs[i].assign(resp.extents().begin(), resp.extents().end());
          return Status::Ok();
        });
    if (!st.ok()) return st;
    // Whether segment s is allocated at offset `at` (relative to seg_off),
    // and for how long it stays so.
    auto lookup = [&](uint32_t s, uint64_t at, uint64_t* run_left) {
      uint64_t pos = 0;
      for (const auto& r : runs[s]) {
        if (at < pos + r.length()) {
          *run_left = pos + r.length() - at;
          return r.allocated();
        }
        pos += r.length();
      }
      *run_left = UINT64_MAX;
      return false;
    };
    for (uint64_t pos = offset; pos < end;) {
      SegmentPiece p = layout_.Locate(pos);
      uint64_t left = 0;
      bool allocated = lookup(p.segment - group_first, p.segment_offset - seg_off, &left);
      uint64_t len = std::min({p.length, left, end - pos});
      if (!extents->empty() && extents->back().hole == !allocated &&
          uint64_t{extents->back().length} + len <= UINT32_MAX - stripe) {
        extents->back().length += static_cast<uint32_t>(len);
      } else {
        extents->push_back(nbd::Extent{static_cast<uint32_t>(len), !allocated, !allocated});
      }
      pos += len;
    }
    return Status::Ok();
  }

  // Sends piece i of n to its segment's owner, all in parallel; retries the
  // retryable failures on a fresh layout until the request's deadline.
  template <typename SegmentOf, typename Send, typename Accept>
  Status Run(size_t n, SegmentOf segment_of, Send send, Accept accept) {
    auto deadline = Clock::now() + std::chrono::milliseconds(client_->options().io_timeout_ms);
    std::vector<size_t> pending(n);
    for (size_t i = 0; i < n; ++i) pending[i] = i;
    auto backoff = std::chrono::milliseconds(20);
    Status last;
    for (;;) {
      std::vector<std::pair<size_t, std::future<Result<rpc::RpcReply>>>> calls;
      std::vector<size_t> again;
      {
        std::vector<SegmentInfo> segments = Segments();
        for (size_t i : pending) {
          uint32_t s = segment_of(i);
          if (s >= segments.size()) return Status::OutOfRange("segment " + std::to_string(s) + " beyond the volume");
          const SegmentInfo& seg = segments[s];
          if (seg.owner_addr().empty()) {
            last = Status::Unavailable("segment " + std::to_string(s) + " of " + name_ + " has no blockserver");
            again.push_back(i);
            continue;
          }
          SegmentRef ref;
          ref.set_volume_id(volume_id_);
          ref.set_index(s);
          ref.set_epoch(seg.epoch());
          calls.emplace_back(i, send(i, ref, seg.owner_addr()));
        }
      }
      for (auto& [i, fut] : calls) {
        Result<rpc::RpcReply> r = fut.get();
        Status st = r.ok() ? r->status : r.status();
        if (st.ok()) st = accept(i, *r);
        if (st.ok()) continue;
        if (!Retryable(st)) return st;
        last = st;
        again.push_back(i);
      }
      if (again.empty()) return Status::Ok();
      if (Clock::now() + backoff > deadline) {
        return Status::IoError("volume " + name_ + ": not served within " +
                               std::to_string(client_->options().io_timeout_ms) + " ms: " + last.ToString());
      }
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(500));
      Refresh();
      pending = std::move(again);
    }
  }

  std::vector<SegmentInfo> Segments() {
    std::lock_guard lock(mu_);
    return segments_;
  }

  void Adopt(const GetVolumeResponse& view) {
    std::vector<SegmentInfo> segs(view.volume().segment_count());
    for (const auto& s : view.segments()) {
      if (s.index() < segs.size()) segs[s.index()] = s;
    }
    std::lock_guard lock(mu_);
    segments_ = std::move(segs);
  }

  // A fresh layout from the blockmanager, at most every layout_refresh_ms_min.
  void Refresh() {
    {
      std::lock_guard lock(mu_);
      auto now = Clock::now();
      if (now - refreshed_ < std::chrono::milliseconds(client_->options().layout_refresh_ms_min)) return;
      refreshed_ = now;
    }
    auto view = client_->GetVolume(name_);
    if (!view.ok()) {
      spdlog::warn("block client: refreshing the layout of {}: {}", name_, view.status().ToString());
      return;
    }
    if (view->volume().id() != volume_id_) return;  // deleted and re-created: keep failing the old one
    Adopt(*view);
  }

  BlockClient* client_;
  nbd::ExportInfo info_;
  std::string name_;
  uint64_t volume_id_;
  VolumeLayout layout_;
  std::mutex mu_;
  std::vector<SegmentInfo> segments_;
  Clock::time_point refreshed_{};
};

}  // namespace

nbd::ExportInfo ExportInfoOf(const VolumeInfo& v) {
  nbd::ExportInfo info;
  info.name = v.name();
  info.description = "Strata volume " + v.name() +
                     (v.durability() == dfs::DURABILITY_MEMORY ? " (memory durability)" : " (sync durability)");
  info.size_bytes = v.size_bytes();
  uint32_t bs = v.geometry().block_size() ? v.geometry().block_size() : 4096;
  info.block_size_min = bs;
  info.block_size_preferred = bs;
  info.block_size_max = 32u << 20;
  return info;
}

BlockClient::BlockClient(BlockClientOptions options)
    : options_(std::move(options)), pool_(std::make_unique<Pool>(options_.threads)) {}

BlockClient::~BlockClient() { pool_.reset(); }

void BlockClient::Post(std::function<void()> fn) { pool_->Post(std::move(fn)); }

Status BlockClient::CallManager(uint32_t method, const google::protobuf::Message& req,
                                google::protobuf::Message* resp) {
  Status st = rpc_.CallTyped(options_.manager, method, req, resp, {}, nullptr, options_.manager_rpc_timeout_ms);
  if (st.code() == StatusCode::kNotSupported) {
    return Status::InvalidArgument(options_.manager + " is not a Strata blockmanager");
  }
  return st;
}

Result<GetVolumeResponse> BlockClient::GetVolume(const std::string& name) {
  GetVolumeRequest req;
  req.set_name(name);
  GetVolumeResponse resp;
  RETURN_IF_ERROR(CallManager(BM_GET_VOLUME, req, &resp));
  return resp;
}

Result<std::unique_ptr<nbd::Volume>> BlockClient::Open(const std::string& name) {
  ASSIGN_OR_RETURN(GetVolumeResponse view, GetVolume(name));
  return std::unique_ptr<nbd::Volume>(std::make_unique<ClientVolume>(this, std::move(view)));
}

Result<std::vector<nbd::ExportInfo>> BlockClient::List() {
  ListVolumesRequest req;
  ListVolumesResponse resp;
  RETURN_IF_ERROR(CallManager(BM_LIST_VOLUMES, req, &resp));
  std::vector<nbd::ExportInfo> out;
  for (const auto& v : resp.volumes()) out.push_back(ExportInfoOf(v));
  return out;
}

}  // namespace strata::block
