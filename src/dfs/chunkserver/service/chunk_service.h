// ChunkService: the RPC handlers of proto/chunkserver.proto, one per
// ChunkserverMethod, translating messages to ChunkStore and Replicator calls.
// Chunk data travels as the frame's bulk payload in both directions.
//
// Error replies carry the store's Status; an append or seal at a wrong offset
// is OutOfRange whose message ends with "length=N" (the replica's length).
//
// Thread-safety: handlers run concurrently on RPC worker threads; the store
// and replicator are thread-safe.
// Ownership: borrows the store and replicator, which must outlive the server.
#pragma once

#include "dfs/chunkserver/service/replicator.h"
#include "dfs/chunkserver/store/chunk_store.h"
#include "rpc/server.h"

namespace strata::dfs {

// Registers every chunkserver method on `server` (before it starts).
void RegisterChunkService(rpc::RpcServer* server, ChunkStore* store, Replicator* replicator);

}  // namespace strata::dfs
