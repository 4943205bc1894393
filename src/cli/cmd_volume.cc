// strata volume: create, ls, info, resize and rm of block volumes (virtual
// disks), through the blockmanager.
#include <cstdio>
#include <ctime>
#include <iostream>

#include "cli/admin_options.h"
#include "cli/commands.h"
#include "common/config.h"

namespace strata::cli {
namespace {

using block::manager::BlockManagerClient;

struct VolumeArgs {
  AdminOptions admin;
  std::string name;
  std::string size;
  std::string durability = "sync";
};

const char* DurabilityName(dfs::Durability d) { return d == dfs::DURABILITY_MEMORY ? "memory" : "sync"; }

nlohmann::json VolumeToJson(const block::VolumeInfo& v) {
  return {
      {"name", v.name()},
      {"id", v.id()},
      {"size_bytes", v.size_bytes()},
      {"durability", DurabilityName(v.durability())},
      {"partition", v.partition()},
      {"block_size", v.geometry().block_size()},
      {"segment_size_bytes", v.geometry().segment_size_bytes()},
      {"segments_per_group", v.geometry().segments_per_group()},
      {"stripe_unit_bytes", v.geometry().stripe_unit_bytes()},
      {"segment_count", v.segment_count()},
      {"created_us", v.created_us()},
      {"live_bytes", v.live_bytes()},
      {"stored_bytes", v.stored_bytes()},
  };
}

nlohmann::json SegmentToJson(const block::SegmentInfo& s) {
  return {
      {"index", s.index()},         {"owner_id", s.owner_id()},   {"owner_addr", s.owner_addr()},
      {"epoch", s.epoch()},         {"tokens", s.tokens()},       {"restricted", s.restricted()},
      {"state", s.state()},         {"live_bytes", s.live_bytes()}, {"stored_bytes", s.stored_bytes()},
  };
}

std::string FormatTime(uint64_t wall_us) {
  std::time_t t = static_cast<std::time_t>(wall_us / 1000000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M", &tm);
  return buf;
}

Result<uint64_t> ParseSize(const std::string& text) {
  auto size = ParseByteSize(text);
  if (!size.ok()) return Status::InvalidArgument("SIZE must be bytes or a size like 20G, 512M, 1T, not '" + text + "'");
  return *size;
}

// Runs `fn` with a connected client and turns its Status into an exit code.
int WithManager(const VolumeArgs& a, const std::function<Status(BlockManagerClient&)>& fn) {
  auto client = ConnectBlockManager(a.admin);
  if (!client.ok()) return ReportError(client.status(), a.admin.json);
  Status st = fn(**client);
  return st.ok() ? 0 : ReportError(st, a.admin.json);
}

Status Create(BlockManagerClient& c, const VolumeArgs& a) {
  ASSIGN_OR_RETURN(uint64_t size, ParseSize(a.size));
  ASSIGN_OR_RETURN(dfs::Durability durability, ParseDurability(a.durability));
  ASSIGN_OR_RETURN(block::VolumeInfo v, c.CreateVolume(a.name, size, durability));
  if (a.admin.json) {
    std::cout << VolumeToJson(v).dump(2) << "\n";
    return Status::Ok();
  }
  std::cout << "created volume '" << v.name() << "' (id " << v.id() << "): " << HumanBytes(v.size_bytes()) << " in "
            << v.segment_count() << " segments of " << HumanBytes(v.geometry().segment_size_bytes())
            << ", durability " << DurabilityName(v.durability()) << "\n";
  return Status::Ok();
}

Status Ls(BlockManagerClient& c, const VolumeArgs& a) {
  ASSIGN_OR_RETURN(auto volumes, c.ListVolumes());
  if (a.admin.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& v : volumes) out.push_back(VolumeToJson(v));
    std::cout << out.dump(2) << "\n";
    return Status::Ok();
  }
  if (volumes.empty()) return Status::Ok();
  std::printf("%-24s %6s %12s %9s %-10s %12s %12s\n", "NAME", "ID", "SIZE", "SEGMENTS", "DURABILITY", "LIVE",
              "STORED");
  for (const auto& v : volumes) {
    std::printf("%-24s %6llu %12s %9u %-10s %12s %12s\n", v.name().c_str(), static_cast<unsigned long long>(v.id()),
                HumanBytes(v.size_bytes()).c_str(), v.segment_count(), DurabilityName(v.durability()),
                HumanBytes(v.live_bytes()).c_str(), HumanBytes(v.stored_bytes()).c_str());
  }
  return Status::Ok();
}

Status Info(BlockManagerClient& c, const VolumeArgs& a) {
  ASSIGN_OR_RETURN(block::GetVolumeResponse r, c.GetVolume(a.name));
  const block::VolumeInfo& v = r.volume();
  if (a.admin.json) {
    nlohmann::json out = VolumeToJson(v);
    out["segments"] = nlohmann::json::array();
    for (const auto& s : r.segments()) out["segments"].push_back(SegmentToJson(s));
    std::cout << out.dump(2) << "\n";
    return Status::Ok();
  }
  const auto& g = v.geometry();
  std::cout << "name:        " << v.name() << "\n"
            << "id:          " << v.id() << "\n"
            << "size:        " << v.size_bytes() << " (" << HumanBytes(v.size_bytes()) << ")\n"
            << "durability:  " << DurabilityName(v.durability()) << "\n"
            << "block size:  " << g.block_size() << "\n"
            << "segments:    " << v.segment_count() << " of " << HumanBytes(g.segment_size_bytes()) << ", "
            << g.segments_per_group() << " per group, stripe unit " << HumanBytes(g.stripe_unit_bytes()) << "\n"
            << "partition:   " << v.partition() << "\n"
            << "created:     " << FormatTime(v.created_us()) << " UTC\n"
            << "live data:   " << HumanBytes(v.live_bytes()) << "\n"
            << "stored:      " << HumanBytes(v.stored_bytes()) << "\n";
  std::printf("%7s  %-12s %-22s %6s  %-10s %s\n", "SEGMENT", "OWNER", "ADDR", "EPOCH", "STATE", "TOKENS");
  for (const auto& s : r.segments()) {
    std::string tokens = std::to_string(s.tokens()) + (s.restricted() ? " (restricted)" : "");
    std::printf("%7u  %-12s %-22s %6llu  %-10s %s\n", s.index(), s.owner_id().empty() ? "-" : s.owner_id().c_str(),
                s.owner_addr().empty() ? "-" : s.owner_addr().c_str(), static_cast<unsigned long long>(s.epoch()),
                s.state().c_str(), tokens.c_str());
  }
  return Status::Ok();
}

Status Resize(BlockManagerClient& c, const VolumeArgs& a) {
  ASSIGN_OR_RETURN(uint64_t size, ParseSize(a.size));
  ASSIGN_OR_RETURN(block::VolumeInfo v, c.ResizeVolume(a.name, size));
  if (a.admin.json) {
    std::cout << VolumeToJson(v).dump(2) << "\n";
    return Status::Ok();
  }
  std::cout << "volume '" << v.name() << "' is now " << HumanBytes(v.size_bytes()) << " (" << v.segment_count()
            << " segments)\n";
  return Status::Ok();
}

Status Rm(BlockManagerClient& c, const VolumeArgs& a) {
  RETURN_IF_ERROR(c.DeleteVolume(a.name));
  if (a.admin.json) {
    std::cout << nlohmann::json{{"ok", true}, {"action", "rm"}, {"volume", a.name}}.dump() << "\n";
  } else {
    std::cout << "deleted volume '" << a.name << "' (its data in the dfs is removed in the background)\n";
  }
  return Status::Ok();
}

}  // namespace

void RegisterVolumeCommand(CLI::App& app, int* exit_code) {
  auto* volume = app.add_subcommand("volume", "Block volumes (virtual disks served over NBD)");
  volume->require_subcommand(1);
  auto args = std::make_shared<VolumeArgs>();
  auto bind = [&](CLI::App* cmd, Status (*fn)(BlockManagerClient&, const VolumeArgs&)) {
    AddBlockAdminOptions(cmd, &args->admin);
    cmd->callback([args, exit_code, fn] {
      *exit_code = WithManager(*args, [&](BlockManagerClient& c) { return fn(c, *args); });
    });
  };

  auto* create = volume->add_subcommand("create", "Create a volume of SIZE (e.g. 20G; rounded up to 4 KiB blocks)");
  create->add_option("name", args->name, "1..64 of [A-Za-z0-9._-], not starting with '.' or '-'")->required();
  create->add_option("size", args->size, "Size: bytes or 20G, 512M, 1T")->required();
  create->add_option("--durability", args->durability, "sync (fdatasync before ack) or memory")
      ->capture_default_str();
  bind(create, Create);

  auto* ls = volume->add_subcommand("ls", "List the volumes");
  bind(ls, Ls);

  auto* info = volume->add_subcommand("info", "Show a volume and its segments with their owners and epochs");
  info->add_option("name", args->name)->required();
  bind(info, Info);

  auto* resize = volume->add_subcommand("resize", "Grow a volume online to SIZE (volumes never shrink)");
  resize->add_option("name", args->name)->required();
  resize->add_option("size", args->size, "New size: bytes or 20G, 512M, 1T")->required();
  bind(resize, Resize);

  auto* rm = volume->add_subcommand("rm", "Delete a volume and its data");
  rm->add_option("name", args->name)->required();
  bind(rm, Rm);
}

}  // namespace strata::cli
