#include "block/client/block_client.h"

#include <asio/post.hpp>
#include <asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <future>
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

// `done`, counting the request in `kind`'s metrics when it completes.
template <typename Fn>
auto Timed(BlockClient* client, BlockClient::RequestKind kind, uint64_t bytes, Fn done) {
  auto start = Clock::now();
  return [client, kind, bytes, start, done = std::move(done)](Status st, auto&&... rest) mutable {
    BlockRequestMetrics& m = client->request_metrics(kind);
    m.requests->Add();
    if (st.ok()) {
      m.bytes->Add(bytes);
    } else {
      m.errors->Add();
    }
    m.latency->Observe(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count()));
    done(std::move(st), std::forward<decltype(rest)>(rest)...);
  };
}

// One volume as one NBD connection sees it.
class ClientVolume final : public nbd::Volume {
 public:
  ClientVolume(BlockClient* client, GetVolumeResponse view)
      : client_(client), info_(ExportInfoOf(view.volume())), name_(view.volume().name()),
        volume_id_(view.volume().id()), memory_(view.volume().durability() == dfs::DURABILITY_MEMORY),
        layout_(view.volume().geometry()) {
    Adopt(view);
    client_->volumes_open()->Add(1);
  }
  ~ClientVolume() override { client_->volumes_open()->Add(-1); }

  const nbd::ExportInfo& info() const override { return info_; }

  void Read(uint64_t offset, uint32_t length, ReadDone done) override {
    done = Timed(client_, BlockClient::kRead, length, std::move(done));
    auto out = std::make_shared<std::string>(length, '\0');
    auto pieces = std::make_shared<std::vector<SegmentPiece>>(layout_.Map(offset, length));
    size_t n = pieces->size();
    RunAsync(
        n, [pieces](size_t i) { return (*pieces)[i].segment; },
        [this, pieces](size_t i, const SegmentRef& ref, const std::string& addr, rpc::ReplyCallback on_done) {
          BsReadRequest req;
          *req.mutable_segment() = ref;
          req.set_offset((*pieces)[i].segment_offset);
          req.set_length(static_cast<uint32_t>((*pieces)[i].length));
          client_->rpc().CallWithCallback(addr, BS_READ, req.SerializeAsString(), "", client_->options().rpc_timeout_ms,
                                          std::move(on_done));
        },
        [pieces, out, offset](size_t i, rpc::RpcReply& reply) -> Status {
          const SegmentPiece& p = (*pieces)[i];
          BsReadResponse resp;
          if (!resp.ParseFromString(reply.meta)) return Status::ProtocolError("bad read reply");
          if (reply.bulk.size() != p.length) return Status::ProtocolError("read reply length mismatch");
          if (Crc32c(reply.bulk) != resp.data_crc()) return Status::Corruption("read reply checksum mismatch");
          std::memcpy(out->data() + (p.volume_offset - offset), reply.bulk.data(), reply.bulk.size());
          return Status::Ok();
        },
        [out, done = std::move(done)](Status st) { done(st, st.ok() ? std::move(*out) : std::string()); });
  }

  void Write(uint64_t offset, std::string data, bool fua, Done done) override {
    done = Timed(client_, BlockClient::kWrite, data.size(), std::move(done));
    // A sync volume's write is durable when acknowledged: FUA needs nothing
    // more. A memory volume's FUA write is followed by a FLUSH.
    if (fua && memory_) {
      done = [this, done = std::move(done)](Status st) mutable {
        if (!st.ok()) return done(st);
        Flush(std::move(done));
      };
    }
    auto bytes = std::make_shared<std::string>(std::move(data));
    auto pieces = std::make_shared<std::vector<SegmentPiece>>(layout_.Map(offset, bytes->size()));
    size_t n = pieces->size();
    RunAsync(
        n, [pieces](size_t i) { return (*pieces)[i].segment; },
        [this, pieces, bytes, offset](size_t i, const SegmentRef& ref, const std::string& addr,
                                      rpc::ReplyCallback on_done) {
          const SegmentPiece& p = (*pieces)[i];
          std::string_view piece(bytes->data() + (p.volume_offset - offset), p.length);
          BsWriteRequest req;
          *req.mutable_segment() = ref;
          req.set_offset(p.segment_offset);
          req.set_data_crc(Crc32c(piece));
          client_->rpc().CallWithCallback(addr, BS_WRITE, req.SerializeAsString(), std::string(piece),
                                          client_->options().rpc_timeout_ms, std::move(on_done));
        },
        [](size_t, rpc::RpcReply&) { return Status::Ok(); }, std::move(done));
  }

  void Flush(Done done) override {
    done = Timed(client_, BlockClient::kFlush, 0, std::move(done));
    // A sync volume's writes are durable when acknowledged. A memory
    // volume's are in the memory of two chunkservers: FLUSH has every
    // segment's blockserver sync its open data file, which covers the
    // writes acknowledged on every connection.
    if (!memory_) return done(Status::Ok());
    size_t n = Segments()->size();
    RunAsync(
        n, [](size_t i) { return static_cast<uint32_t>(i); },
        [this](size_t, const SegmentRef& ref, const std::string& addr, rpc::ReplyCallback on_done) {
          BsFlushRequest req;
          *req.mutable_segment() = ref;
          client_->rpc().CallWithCallback(addr, BS_FLUSH, req.SerializeAsString(), "", client_->options().rpc_timeout_ms,
                                          std::move(on_done));
        },
        [](size_t, rpc::RpcReply&) { return Status::Ok(); }, std::move(done));
  }

  void Trim(uint64_t offset, uint32_t length, Done done) override {
    Deallocate(offset, length, false, Timed(client_, BlockClient::kTrim, length, std::move(done)));
  }

  void WriteZeroes(uint64_t offset, uint32_t length, bool, bool, Done done) override {
    // Zeros are recorded in the index, never written: always fast, and the
    // range reads back as zeros whether or not it was deallocated.
    Deallocate(offset, length, true, Timed(client_, BlockClient::kZero, length, std::move(done)));
  }

  void BlockStatus(uint64_t offset, uint32_t length, StatusDone done) override {
    done = Timed(client_, BlockClient::kBlockStatus, 0, std::move(done));
    client_->Post([this, offset, length, done = std::move(done)] {
      std::vector<nbd::Extent> extents;
      Status st = StatusFromBlockStatus(offset, length, &extents);
      done(st, std::move(extents));
    });
  }

 private:
  void Deallocate(uint64_t offset, uint32_t length, bool zero, Done done) {
    auto pieces = std::make_shared<std::vector<SegmentPiece>>(layout_.Map(offset, length));
    size_t n = pieces->size();
    RunAsync(
        n, [pieces](size_t i) { return (*pieces)[i].segment; },
        [this, pieces, zero](size_t i, const SegmentRef& ref, const std::string& addr, rpc::ReplyCallback on_done) {
          BsTrimRequest req;
          *req.mutable_segment() = ref;
          req.set_offset((*pieces)[i].segment_offset);
          req.set_length((*pieces)[i].length);
          req.set_zero(zero);
          client_->rpc().CallWithCallback(addr, BS_TRIM, req.SerializeAsString(), "", client_->options().rpc_timeout_ms,
                                          std::move(on_done));
        },
        [](size_t, rpc::RpcReply&) { return Status::Ok(); }, std::move(done));
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
        [&](size_t, const SegmentRef& ref, const std::string& addr, rpc::ReplyCallback on_done) {
          BsBlockStatusRequest req;
          *req.mutable_segment() = ref;
          req.set_offset(seg_off);
          req.set_length(seg_len);
          client_->rpc().CallWithCallback(addr, BS_BLOCK_STATUS, req.SerializeAsString(), "",
                                          client_->options().rpc_timeout_ms, std::move(on_done));
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

  using SendFn = std::function<void(size_t, const SegmentRef&, const std::string&, rpc::ReplyCallback)>;
  using AcceptFn = std::function<Status(size_t, rpc::RpcReply&)>;

  // Sends piece i of n to its segment's owner, all in parallel, and calls
  // `finish` once every piece was accepted, or with the first error that a
  // retry cannot cure. Retryable failures are sent again on a fresh layout
  // after a backoff until the request's deadline. No thread waits: replies
  // are handled on the RPC client's I/O threads; only a retry (which sleeps
  // and asks the blockmanager) runs on the client's pool.
  void RunAsync(size_t n, std::function<uint32_t(size_t)> segment_of, SendFn send, AcceptFn accept, Done finish) {
    auto run = std::make_shared<PieceRun>();
    run->volume = this;
    run->segment_of = std::move(segment_of);
    run->send = std::move(send);
    run->accept = std::move(accept);
    run->finish = std::move(finish);
    run->deadline = Clock::now() + std::chrono::milliseconds(client_->options().io_timeout_ms);
    run->pending.resize(n);
    for (size_t i = 0; i < n; ++i) run->pending[i] = i;
    PieceRun::Round(std::move(run));
  }

  // The same, waiting for the outcome (for requests that already run on
  // the pool).
  template <typename SegmentOf, typename Send, typename Accept>
  Status Run(size_t n, SegmentOf segment_of, Send send, Accept accept) {
    std::promise<Status> p;
    auto f = p.get_future();
    RunAsync(n, segment_of, send, accept, [&p](Status st) { p.set_value(std::move(st)); });
    return f.get();
  }

  // The state of one request's pieces across its rounds of sends.
  struct PieceRun : std::enable_shared_from_this<PieceRun> {
    ClientVolume* volume = nullptr;
    std::function<uint32_t(size_t)> segment_of;
    SendFn send;
    AcceptFn accept;
    nbd::Volume::Done finish;
    Clock::time_point deadline;
    std::chrono::milliseconds backoff{20};
    std::vector<size_t> pending;  // pieces of this round

    std::mutex mu;
    size_t outstanding = 0;  // pieces of this round not yet handled
    std::vector<size_t> again;
    Status last, fatal;

    static void Round(std::shared_ptr<PieceRun> run) {
      std::shared_ptr<const std::vector<SegmentInfo>> layout = run->volume->Segments();
      const std::vector<SegmentInfo>& segments = *layout;
      size_t n = run->pending.size();
      run->again.clear();
      run->outstanding = n + 1;  // + this function, so the round cannot end while sending
      for (size_t k = 0; k < n; ++k) {
        size_t i = run->pending[k];
        uint32_t s = run->segment_of(i);
        Status refused;
        if (s >= segments.size()) {
          refused = Status::OutOfRange("segment " + std::to_string(s) + " beyond the volume");
        } else if (segments[s].owner_addr().empty()) {
          refused = Status::Unavailable("segment " + std::to_string(s) + " of " + run->volume->name_ +
                                        " has no blockserver");
        }
        if (!refused.ok()) {
          run->Handle(i, refused);
          continue;
        }
        SegmentRef ref;
        ref.set_volume_id(run->volume->volume_id_);
        ref.set_index(s);
        ref.set_epoch(segments[s].epoch());
        run->send(i, ref, segments[s].owner_addr(),
                  [run, i](Result<rpc::RpcReply> r) { run->Arrive(i, std::move(r)); });
      }
      run->EndOne();
    }

    void Arrive(size_t i, Result<rpc::RpcReply> r) {
      Status st = r.ok() ? r->status : r.status();
      if (st.ok()) st = accept(i, *r);
      Handle(i, st);
    }

    // Records the outcome of piece i; the last piece of the round ends it.
    void Handle(size_t i, const Status& st) {
      {
        std::lock_guard lock(mu);
        if (!st.ok()) {
          if (!Retryable(st)) {
            if (fatal.ok()) fatal = st;
          } else {
            last = st;
            again.push_back(i);
          }
        }
      }
      EndOne();
    }

    void EndOne() {
      {
        std::lock_guard lock(mu);
        if (--outstanding > 0) return;
      }
      // The round is over; nothing else touches this run now.
      if (!fatal.ok()) return Finish(fatal);
      if (again.empty()) return Finish(Status::Ok());
      if (Clock::now() + backoff > deadline) {
        return Finish(Status::IoError("volume " + volume->name_ + ": not served within " +
                                      std::to_string(volume->client_->options().io_timeout_ms) +
                                      " ms: " + last.ToString()));
      }
      volume->client_->retries()->Add(again.size());
      std::shared_ptr<PieceRun> self = shared_from_this();
      volume->client_->Post([self] {
        std::this_thread::sleep_for(self->backoff);
        self->backoff = std::min(self->backoff * 2, std::chrono::milliseconds(500));
        self->volume->Refresh();
        self->pending = std::move(self->again);
        Round(self);
      });
    }

    void Finish(Status st) {
      nbd::Volume::Done f = std::move(finish);
      f(std::move(st));
    }
  };

  // The segment owners as last adopted (a snapshot shared, never changed).
  std::shared_ptr<const std::vector<SegmentInfo>> Segments() {
    std::lock_guard lock(mu_);
    return segments_;
  }

  void Adopt(const GetVolumeResponse& view) {
    std::vector<SegmentInfo> segs(view.volume().segment_count());
    for (const auto& s : view.segments()) {
      if (s.index() < segs.size()) segs[s.index()] = s;
    }
    std::lock_guard lock(mu_);
    segments_ = std::make_shared<const std::vector<SegmentInfo>>(std::move(segs));
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
  bool memory_;  // memory durability: FLUSH syncs
  VolumeLayout layout_;
  std::mutex mu_;
  std::shared_ptr<const std::vector<SegmentInfo>> segments_;
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
    : options_(std::move(options)),
      rpc_(rpc::RpcClientOptions{.io_context = options_.io_context, .auth = options_.auth}),
      pool_(std::make_unique<Pool>(options_.threads)) {
  MetricsRegistry* m = options_.metrics ? options_.metrics : &own_metrics_;
  static const char* const kNames[kRequestKinds] = {"read", "write", "flush", "trim", "zero", "block_status"};
  for (int k = 0; k < kRequestKinds; ++k) {
    std::string labels = std::string("op=\"") + kNames[k] + "\"";
    request_metrics_[k].requests = m->GetCounter("strata_nbd_requests_total", "NBD requests completed", labels);
    request_metrics_[k].errors =
        m->GetCounter("strata_nbd_request_errors_total", "NBD requests that completed with an error", labels);
    request_metrics_[k].bytes = m->GetCounter("strata_nbd_request_bytes_total", "bytes read, written, trimmed or zeroed", labels);
    request_metrics_[k].latency =
        m->GetHistogram("strata_nbd_request_seconds", "NBD request latency in the gateway (to the blockservers and back)", labels);
  }
  retries_ = m->GetCounter("strata_nbd_retries_total",
                           "request pieces sent again (segment moved, owner down or loading) after a backoff");
  volumes_open_ = m->GetGauge("strata_nbd_volumes_open", "volumes open (one per NBD connection in transmission)");
}

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
