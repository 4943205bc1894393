// DetectDiskMedia: whether a disk directory sits on a solid-state or a
// rotational device ("ssd" or "hdd"), from the kernel's
// /sys/dev/block/MAJ:MIN/queue/rotational of the device holding it (or of the
// whole disk when it is a partition). Empty when unknown (tmpfs, overlay,
// no sysfs). Informational: reported to the master in DiskStat.media.
//
// Thread-safety: a pure function of the system's state.
#pragma once

#include <string>

namespace strata::dfs {

std::string DetectDiskMedia(const std::string& path);

}  // namespace strata::dfs
