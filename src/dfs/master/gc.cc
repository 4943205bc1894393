#include "dfs/master/gc.h"

namespace strata::dfs::master {

void RetireChunks(const Catalog& catalog, const std::vector<uint64_t>& chunk_ids, Mutation* m) {
  for (uint64_t id : chunk_ids) {
    const ChunkRecord* c = catalog.FindChunk(id);
    if (!c) continue;
    GcRecord gc;
    gc.set_chunk_id(id);
    for (const auto& r : c->replicas()) gc.add_servers(r.server_id());
    m->DeleteChunk(id);
    m->PutGc(gc);
  }
}

Result<size_t> GcDispatcher::Dispatch(size_t records_max, const std::function<bool(const std::string&)>& gone) {
  Mutation m;
  size_t queued = 0, visited = 0;
  for (const auto& [id, rec] : catalog_->gc()) {
    if (visited++ >= records_max) break;
    GcRecord rest;
    rest.set_chunk_id(id);
    for (const auto& server : rec.servers()) {
      if (gone(server)) continue;
      ChunkCommand cmd;
      cmd.set_kind(ChunkCommand::DELETE);
      cmd.set_chunk_id(id);
      if (queues_->Push(server, cmd)) {
        queued++;
      } else {
        rest.add_servers(server);
      }
    }
    if (rest.servers_size() == 0) {
      m.DeleteGc(id);
    } else if (rest.servers_size() != rec.servers_size()) {
      m.PutGc(rest);
    }
  }
  RETURN_IF_ERROR(catalog_->Commit(m));
  return queued;
}

}  // namespace strata::dfs::master
