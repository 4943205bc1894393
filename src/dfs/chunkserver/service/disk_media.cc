#include "dfs/chunkserver/service/disk_media.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <fstream>

namespace strata::dfs {

std::string DetectDiskMedia(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "";
  std::string dev = "/sys/dev/block/" + std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
  for (const std::string& flag : {dev + "/queue/rotational", dev + "/../queue/rotational"}) {
    std::ifstream in(flag);
    int rotational = -1;
    if (in >> rotational) return rotational == 1 ? "hdd" : "ssd";
  }
  return "";
}

}  // namespace strata::dfs
