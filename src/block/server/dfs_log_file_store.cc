// The LogFileStore of the dfs (log_file_store.h).
#include <mutex>

#include "block/server/log_file_store.h"
#include "dfs/client/dfs_client.h"
#include "dfs/client/file_reader.h"
#include "dfs/client/file_writer.h"

namespace strata::block {
namespace {

class DfsAppender final : public LogAppender {
 public:
  explicit DfsAppender(std::unique_ptr<dfs::FileWriter> w) : writer_(std::move(w)) {}
  ~DfsAppender() override {
    if (!closed_) (void)writer_->Close();
  }
  Status Append(std::string_view data) override { return writer_->Append(data); }
  Status Sync() override { return writer_->Sync(); }
  Status Close() override {
    closed_ = true;
    return writer_->Close();
  }
  uint64_t size() const override { return writer_->size(); }

 private:
  std::unique_ptr<dfs::FileWriter> writer_;
  bool closed_ = false;
};

class DfsReader final : public LogReader {
 public:
  explicit DfsReader(std::unique_ptr<dfs::FileReader> r) : reader_(std::move(r)) {}
  Status ReadExact(uint64_t offset, char* buf, size_t n) override {
    if (offset + n > reader_->size()) return Status::OutOfRange("read past the end of a data file");
    size_t done = 0;
    while (done < n) {
      ASSIGN_OR_RETURN(size_t got, reader_->ReadAt(offset + done, buf + done, n - done));
      if (got == 0) return Status::OutOfRange("data file ended early");
      done += got;
    }
    return Status::Ok();
  }
  uint64_t size() const override { return reader_->size(); }

 private:
  std::unique_ptr<dfs::FileReader> reader_;
};

class DfsLogFileStore final : public LogFileStore {
 public:
  explicit DfsLogFileStore(dfs::DfsClient* client) : client_(client) {}

  Status MakeDirs(const std::string& dir) override { return client_->Mkdir(dir, true); }

  Result<std::vector<LogFileEntry>> List(const std::string& dir) override {
    ASSIGN_OR_RETURN(auto entries, client_->List(dir));
    std::vector<LogFileEntry> out;
    for (const auto& e : entries) {
      if (e.is_dir()) continue;
      std::string name = e.path();
      if (auto slash = name.rfind('/'); slash != std::string::npos) name = name.substr(slash + 1);
      out.push_back({name, e.size()});
    }
    return out;
  }

  Result<std::unique_ptr<LogAppender>> Create(const std::string& path, dfs::Durability durability) override {
    dfs::CreateOptions options;
    options.durability = durability;
    RETURN_IF_ERROR(client_->Create(path, options).status());
    ASSIGN_OR_RETURN(auto writer, client_->OpenWriter(path));
    return std::unique_ptr<LogAppender>(std::make_unique<DfsAppender>(std::move(writer)));
  }

  Status Fence(const std::string& path) override {
    ASSIGN_OR_RETURN(auto writer, client_->OpenWriter(path));
    return writer->Close();
  }

  Result<std::shared_ptr<LogReader>> OpenReader(const std::string& path) override {
    ASSIGN_OR_RETURN(auto reader, client_->OpenReader(path));
    return std::shared_ptr<LogReader>(std::make_shared<DfsReader>(std::move(reader)));
  }

  Status Delete(const std::string& path) override {
    Status st = client_->Delete(path, false);
    return st.code() == StatusCode::kNotFound ? Status::Ok() : st;
  }

  Status Rename(const std::string& from, const std::string& to) override {
    return client_->Rename(from, to, /*replace=*/true);
  }

 private:
  dfs::DfsClient* client_;
};

}  // namespace

std::unique_ptr<LogFileStore> NewDfsLogFileStore(dfs::DfsClient* client) {
  return std::make_unique<DfsLogFileStore>(client);
}

}  // namespace strata::block
