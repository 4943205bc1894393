// strata debug block-write: one BS_WRITE straight to a blockserver, past the
// blockmanager and the NBD gateway, to rehearse what a stale owner may do:
//
//   strata debug block-write --server HOST:PORT --volume-id V --segment I
//       --epoch E --offset O --length L [--pattern BYTE] [--json]
//
// writes L bytes of BYTE at offset O of segment I of volume V, naming epoch
// E. A blockserver that does not own the segment at that epoch, or whose
// lease has run out, refuses it (exit 1 with the reason).
#include <iostream>

#include "block.pb.h"
#include "cli/admin_options.h"
#include "cli/commands.h"
#include "cli/role_secret.h"
#include "common/crc32c.h"
#include "rpc/client.h"

namespace strata::cli {

void RegisterDebugBlockWriteCommand(CLI::App* debug, int* exit_code) {
  struct Args {
    std::string server;
    uint64_t volume_id = 0;
    uint32_t segment = 0;
    uint64_t epoch = 0;
    uint64_t offset = 0;
    uint32_t length = 4096;
    uint32_t pattern = 0;
    bool json = false;
    std::string dir;
    std::string secret_file;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = debug->add_subcommand("block-write", "Send one write straight to a blockserver (fencing rehearsal)");
  cmd->add_option("--server", a->server, "Blockserver RPC endpoint HOST:PORT")->required();
  cmd->add_option("--volume-id", a->volume_id, "Volume id (strata volume info)")->required();
  cmd->add_option("--segment", a->segment, "Segment index in the volume")->required();
  cmd->add_option("--epoch", a->epoch, "Segment epoch the write names")->required();
  cmd->add_option("--offset", a->offset, "Byte offset in the segment (multiple of 4096)")->required();
  cmd->add_option("--length", a->length, "Bytes to write (multiple of 4096)")->check(CLI::Range(1u, 32u << 20));
  cmd->add_option("--pattern", a->pattern, "Byte value written")->check(CLI::Range(0u, 255u));
  cmd->add_flag("--json", a->json, "Machine-readable result");
  cmd->add_option("--dir", a->dir, "Cluster directory whose cluster.secret is used (default: ./var)");
  cmd->add_option("--secret-file", a->secret_file,
                  "The cluster secret (default: $STRATA_SECRET_FILE, else cluster.secret in --dir)");
  cmd->callback([=] {
    auto auth = FindAdminAuth(a->secret_file, a->dir);
    if (!auth.ok()) {
      *exit_code = ReportError(auth.status(), a->json);
      return;
    }
    rpc::RpcClient rpc(rpc::RpcClientOptions{.auth = *auth});
    block::BsWriteRequest req;
    req.mutable_segment()->set_volume_id(a->volume_id);
    req.mutable_segment()->set_index(a->segment);
    req.mutable_segment()->set_epoch(a->epoch);
    req.set_offset(a->offset);
    std::string data(a->length, static_cast<char>(a->pattern));
    req.set_data_crc(Crc32c(data));
    block::BsWriteResponse resp;
    Status st = rpc.CallTyped(a->server, block::BS_WRITE, req, &resp, data, nullptr, 10000);
    if (!st.ok()) {
      *exit_code = ReportError(st, a->json);
      return;
    }
    std::cout << (a->json ? "{\"ok\": true}" : "written") << "\n";
    *exit_code = 0;
  });
}

}  // namespace strata::cli
