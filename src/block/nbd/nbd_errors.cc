#include "block/nbd/nbd_errors.h"

#include "block/nbd/nbd_protocol.h"

namespace strata::block::nbd {

uint32_t NbdErrorFromStatus(const Status& status, uint16_t command) {
  switch (status.code()) {
    case StatusCode::kOk:
      return 0;
    case StatusCode::kInvalidArgument:
      return kNbdEinval;
    case StatusCode::kOutOfRange:
      return (command == kCmdWrite || command == kCmdWriteZeroes) ? kNbdEnospc : kNbdEinval;
    case StatusCode::kNoSpace:
      return kNbdEnospc;
    case StatusCode::kNotSupported:
      return kNbdEnotsup;
    case StatusCode::kPermissionDenied:
      return kNbdEperm;
    default:
      return kNbdEio;
  }
}

std::string_view NbdErrorName(uint32_t error) {
  switch (error) {
    case 0: return "OK";
    case kNbdEperm: return "EPERM";
    case kNbdEio: return "EIO";
    case kNbdEnomem: return "ENOMEM";
    case kNbdEinval: return "EINVAL";
    case kNbdEnospc: return "ENOSPC";
    case kNbdEoverflow: return "EOVERFLOW";
    case kNbdEnotsup: return "ENOTSUP";
    case kNbdEshutdown: return "ESHUTDOWN";
    default: return "unknown NBD error";
  }
}

}  // namespace strata::block::nbd
