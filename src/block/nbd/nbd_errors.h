// The NBD edge of the project's error codes: which NBD error value
// (proto.md "Error values") a Volume's Status becomes in the reply to the
// client, as nbd_backend.h specifies:
//
//   OK                -> 0
//   InvalidArgument   -> EINVAL
//   OutOfRange        -> ENOSPC for writes and zero writes, EINVAL otherwise
//   NoSpace           -> ENOSPC
//   NotSupported      -> ENOTSUP
//   PermissionDenied  -> EPERM
//   anything else     -> EIO (the data may or may not have been written)
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/status.h"

namespace strata::block::nbd {

// `command`: the NBD_CMD_* the status answers (it decides OutOfRange).
uint32_t NbdErrorFromStatus(const Status& status, uint16_t command);

// "EINVAL", "ENOSPC", ... ; "unknown NBD error" for a value proto.md does
// not define.
std::string_view NbdErrorName(uint32_t error);

}  // namespace strata::block::nbd
