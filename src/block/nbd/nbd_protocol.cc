#include "block/nbd/nbd_protocol.h"

#include <algorithm>

namespace strata::block::nbd {
namespace {

void Put16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}
void Put32(std::string& out, uint32_t v) {
  Put16(out, static_cast<uint16_t>(v >> 16));
  Put16(out, static_cast<uint16_t>(v));
}
void Put64(std::string& out, uint64_t v) {
  Put32(out, static_cast<uint32_t>(v >> 32));
  Put32(out, static_cast<uint32_t>(v));
}

uint16_t Get16(std::string_view b, size_t at) {
  return static_cast<uint16_t>((static_cast<uint8_t>(b[at]) << 8) | static_cast<uint8_t>(b[at + 1]));
}
uint32_t Get32(std::string_view b, size_t at) {
  return (static_cast<uint32_t>(Get16(b, at)) << 16) | Get16(b, at + 2);
}
uint64_t Get64(std::string_view b, size_t at) {
  return (static_cast<uint64_t>(Get32(b, at)) << 32) | Get32(b, at + 4);
}

bool IsPowerOfTwo(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

// Reads a u32 length and that many bytes from `in` at `*pos`, as an NBD
// string.
Result<std::string_view> TakeString(std::string_view in, size_t* pos, const char* what) {
  if (in.size() - *pos < 4) return Status::InvalidArgument(std::string(what) + ": length missing");
  uint32_t len = Get32(in, *pos);
  *pos += 4;
  if (len > in.size() - *pos) return Status::InvalidArgument(std::string(what) + ": longer than the option data");
  std::string_view s = in.substr(*pos, len);
  *pos += len;
  RETURN_IF_ERROR(CheckNbdString(s).WithContext(what));
  return s;
}

}  // namespace

std::string EncodeGreeting(uint16_t handshake_flags) {
  std::string out;
  out.reserve(kGreetingBytes);
  Put64(out, kNbdMagic);
  Put64(out, kIHaveOptMagic);
  Put16(out, handshake_flags);
  return out;
}

Result<uint32_t> ParseClientFlags(std::string_view bytes, uint16_t handshake_flags) {
  if (bytes.size() != kClientFlagsBytes) return Status::ProtocolError("client flags: need 4 bytes");
  uint32_t flags = Get32(bytes, 0);
  uint32_t offered = kClientFlagFixedNewstyle;
  if (handshake_flags & kFlagNoZeroes) offered |= kClientFlagNoZeroes;
  if (flags & ~offered) {
    return Status::ProtocolError("client flags " + std::to_string(flags) + " set a flag the server did not offer");
  }
  return flags;
}

Result<OptionHeader> ParseOptionHeader(std::string_view bytes, uint32_t length_max) {
  if (bytes.size() != kOptionHeaderBytes) return Status::ProtocolError("option header: need 16 bytes");
  if (Get64(bytes, 0) != kIHaveOptMagic) return Status::ProtocolError("option header: bad magic (not IHAVEOPT)");
  OptionHeader h{Get32(bytes, 8), Get32(bytes, 12)};
  if (h.length > length_max) {
    return Status::ProtocolError("option " + OptionName(h.option) + " has " + std::to_string(h.length) +
                                 " bytes of data, over the limit of " + std::to_string(length_max));
  }
  return h;
}

Status CheckNbdString(std::string_view s) {
  if (s.size() > kStringBytesMax) return Status::InvalidArgument("string longer than 4096 bytes");
  if (s.find('\0') != std::string_view::npos) return Status::InvalidArgument("string contains NUL");
  return Status::Ok();
}

Result<InfoRequest> ParseInfoRequest(std::string_view payload) {
  InfoRequest req;
  size_t pos = 0;
  ASSIGN_OR_RETURN(req.name, TakeString(payload, &pos, "export name"));
  if (payload.size() - pos < 2) return Status::InvalidArgument("information request count missing");
  uint16_t count = Get16(payload, pos);
  pos += 2;
  if (payload.size() - pos != 2u * count) {
    return Status::InvalidArgument("information request count " + std::to_string(count) +
                                   " does not match the option length");
  }
  req.requests.reserve(count);
  for (uint16_t i = 0; i < count; ++i) req.requests.push_back(Get16(payload, pos + 2u * i));
  return req;
}

Result<MetaContextRequest> ParseMetaContextRequest(std::string_view payload) {
  MetaContextRequest req;
  size_t pos = 0;
  ASSIGN_OR_RETURN(req.export_name, TakeString(payload, &pos, "export name"));
  if (payload.size() - pos < 4) return Status::InvalidArgument("query count missing");
  uint32_t count = Get32(payload, pos);
  pos += 4;
  // Each query takes at least its 4-byte length: a count that cannot fit is
  // malformed, and the vector never grows beyond what the payload holds.
  if (count > (payload.size() - pos) / 4) {
    return Status::InvalidArgument("query count " + std::to_string(count) + " does not fit the option data");
  }
  req.queries.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    ASSIGN_OR_RETURN(auto query, TakeString(payload, &pos, "query"));
    req.queries.push_back(query);
  }
  if (pos != payload.size()) return Status::InvalidArgument("bytes left over after the queries");
  return req;
}

Result<bool> QuerySelectsBaseAllocation(std::string_view query, bool listing) {
  size_t colon = query.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return Status::InvalidArgument("query '" + std::string(query) + "' is not namespace:name");
  }
  if (query.substr(0, colon) != "base") return false;
  std::string_view leaf = query.substr(colon + 1);
  if (leaf == "allocation") return true;
  return listing && leaf.empty();
}

std::string EncodeOptionReply(uint32_t option, uint32_t reply_type, std::string_view data) {
  std::string out;
  out.reserve(kOptionReplyHeaderBytes + data.size());
  Put64(out, kOptionReplyMagic);
  Put32(out, option);
  Put32(out, reply_type);
  Put32(out, static_cast<uint32_t>(data.size()));
  out.append(data);
  return out;
}

std::string EncodeRepServerData(std::string_view name, std::string_view description) {
  std::string out;
  Put32(out, static_cast<uint32_t>(name.size()));
  out.append(name);
  out.append(description);
  return out;
}

std::string EncodeInfoExportData(uint64_t size_bytes, uint16_t transmission_flags) {
  std::string out;
  Put16(out, kInfoExport);
  Put64(out, size_bytes);
  Put16(out, transmission_flags);
  return out;
}

std::string EncodeInfoNameData(std::string_view name) {
  std::string out;
  Put16(out, kInfoName);
  out.append(name);
  return out;
}

std::string EncodeInfoDescriptionData(std::string_view description) {
  std::string out;
  Put16(out, kInfoDescription);
  out.append(description);
  return out;
}

std::string EncodeInfoBlockSizeData(uint32_t min, uint32_t preferred, uint32_t max) {
  std::string out;
  Put16(out, kInfoBlockSize);
  Put32(out, min);
  Put32(out, preferred);
  Put32(out, max);
  return out;
}

std::string EncodeMetaContextData(uint32_t context_id, std::string_view name) {
  std::string out;
  Put32(out, context_id);
  out.append(name);
  return out;
}

std::string EncodeExportNameReply(uint64_t size_bytes, uint16_t transmission_flags, bool no_zeroes) {
  std::string out;
  Put64(out, size_bytes);
  Put16(out, transmission_flags);
  if (!no_zeroes) out.append(124, '\0');
  return out;
}

Result<BlockSizes> NegotiateBlockSizes(const ExportInfo& info, uint32_t payload_bytes_max) {
  BlockSizes s;
  s.min = info.block_size_min;
  if (!IsPowerOfTwo(s.min) || s.min > kBlockSizeMinMax) {
    return Status::InvalidArgument("minimum block size " + std::to_string(s.min) +
                                   " is not a power of 2 up to 65536");
  }
  s.preferred = info.block_size_preferred;
  if (!IsPowerOfTwo(s.preferred) || s.preferred < std::max<uint32_t>(s.min, 512)) {
    return Status::InvalidArgument("preferred block size " + std::to_string(s.preferred) +
                                   " is not a power of 2 at least max(minimum, 512)");
  }
  s.max = std::min(info.block_size_max, payload_bytes_max);
  s.max -= s.max % s.min;
  if (s.max < std::min<uint64_t>(s.preferred, info.size_bytes) || s.max == 0) {
    return Status::InvalidArgument("maximum block size " + std::to_string(s.max) +
                                   " is below the preferred block size");
  }
  return s;
}

uint16_t TransmissionFlags(const ExportInfo& info, bool structured_replies) {
  uint16_t flags = kTxHasFlags;
  if (info.read_only) flags |= kTxReadOnly;
  if (info.send_flush) flags |= kTxSendFlush | kTxSendFua;
  if (!info.read_only && info.can_trim) flags |= kTxSendTrim;
  if (!info.read_only && info.can_write_zeroes) {
    flags |= kTxSendWriteZeroes;
    if (info.can_fast_zero) flags |= kTxSendFastZero;
  }
  if (structured_replies) flags |= kTxSendDf;
  if (info.multi_conn) flags |= kTxCanMultiConn;
  return flags;
}

Result<Request> ParseRequest(std::string_view bytes) {
  if (bytes.size() != kRequestBytes) return Status::ProtocolError("request: need 28 bytes");
  if (Get32(bytes, 0) != kRequestMagic) return Status::ProtocolError("request: bad magic");
  Request r;
  r.flags = Get16(bytes, 4);
  r.type = Get16(bytes, 6);
  r.handle = Get64(bytes, 8);
  r.offset = Get64(bytes, 16);
  r.length = Get32(bytes, 24);
  return r;
}

std::string EncodeRequest(const Request& request) {
  std::string out;
  out.reserve(kRequestBytes);
  Put32(out, kRequestMagic);
  Put16(out, request.flags);
  Put16(out, request.type);
  Put64(out, request.handle);
  Put64(out, request.offset);
  Put32(out, request.length);
  return out;
}

RequestVerdict CheckRequest(const Request& r, const TransmissionContext& c) {
  const BlockSizes& bs = c.block_sizes;
  const bool read_only = c.flags & kTxReadOnly;
  const bool in_range = r.offset <= c.size_bytes && r.length <= c.size_bytes - r.offset;
  const bool aligned = r.offset % bs.min == 0 && r.length % bs.min == 0;
  uint16_t allowed = (c.flags & kTxSendFua) ? kCmdFlagFua : 0;
  constexpr std::string_view kBadFlag = "a command flag that is not valid for this command";
  constexpr std::string_view kMisaligned = "offset or length is not a multiple of the minimum block size";
  constexpr std::string_view kTooLong = "length is over the maximum block size";
  constexpr std::string_view kReadOnly = "the export is read-only";
  switch (r.type) {
    case kCmdDisc:
      return {};
    case kCmdRead:
      if (c.flags & kTxSendDf) allowed |= kCmdFlagDf;
      if (r.flags & ~allowed) return {kNbdEinval, kBadFlag};
      if (!aligned) return {kNbdEinval, kMisaligned};
      if (r.length > bs.max) return {(r.flags & kCmdFlagDf) ? kNbdEoverflow : kNbdEinval, kTooLong};
      if (!in_range) return {kNbdEinval, "read past the end of the export"};
      return {};
    case kCmdWrite:
      if (r.flags & ~allowed) return {kNbdEinval, kBadFlag};
      if (read_only) return {kNbdEperm, kReadOnly};
      if (!aligned) return {kNbdEinval, kMisaligned};
      if (r.length > bs.max) return {kNbdEinval, kTooLong};
      if (!in_range) return {kNbdEnospc, "write past the end of the export"};
      return {};
    case kCmdFlush:
      if (!(c.flags & kTxSendFlush)) return {kNbdEinval, "NBD_CMD_FLUSH was not offered"};
      if (r.flags & ~allowed) return {kNbdEinval, kBadFlag};
      if (r.offset != 0 || r.length != 0) return {kNbdEinval, "NBD_CMD_FLUSH with a nonzero offset or length"};
      return {};
    case kCmdTrim:
      if (r.flags & ~allowed) return {kNbdEinval, kBadFlag};
      if (read_only) return {kNbdEperm, kReadOnly};
      if (!(c.flags & kTxSendTrim)) return {kNbdEinval, "NBD_CMD_TRIM was not offered"};
      if (!aligned) return {kNbdEinval, kMisaligned};
      if (!in_range) return {kNbdEinval, "trim past the end of the export"};
      return {};
    case kCmdWriteZeroes:
      allowed |= kCmdFlagNoHole;
      if (c.flags & kTxSendFastZero) allowed |= kCmdFlagFastZero;
      if (r.flags & ~allowed) return {kNbdEinval, kBadFlag};
      if (read_only) return {kNbdEperm, kReadOnly};
      if (!(c.flags & kTxSendWriteZeroes)) return {kNbdEinval, "NBD_CMD_WRITE_ZEROES was not offered"};
      if (!aligned) return {kNbdEinval, kMisaligned};
      // proto.md: the maximum binds a zero write unless it is a fast one.
      if (r.length > bs.max && !(r.flags & kCmdFlagFastZero)) return {kNbdEinval, kTooLong};
      if (!in_range) return {kNbdEnospc, "zero write past the end of the export"};
      return {};
    case kCmdBlockStatus:
      allowed |= kCmdFlagReqOne;
      if (r.flags & ~allowed) return {kNbdEinval, kBadFlag};
      if (!c.base_allocation) return {kNbdEinval, "no metadata context was selected"};
      if (r.length == 0) return {kNbdEinval, "block status of zero bytes"};
      if (!aligned) return {kNbdEinval, kMisaligned};
      if (!in_range) return {kNbdEinval, "block status past the end of the export"};
      return {};
    default:
      return {kNbdEinval, "unknown command"};
  }
}

std::string EncodeSimpleReply(uint64_t handle, uint32_t error) {
  std::string out;
  out.reserve(kSimpleReplyBytes);
  Put32(out, kSimpleReplyMagic);
  Put32(out, error);
  Put64(out, handle);
  return out;
}

std::string EncodeChunkHeader(uint16_t flags, uint16_t type, uint64_t handle, uint32_t payload_length) {
  std::string out;
  out.reserve(kStructuredReplyHeaderBytes);
  Put32(out, kStructuredReplyMagic);
  Put16(out, flags);
  Put16(out, type);
  Put64(out, handle);
  Put32(out, payload_length);
  return out;
}

std::string EncodeOffsetDataHeader(uint16_t flags, uint64_t handle, uint64_t offset, uint32_t data_length) {
  std::string out = EncodeChunkHeader(flags, kReplyTypeOffsetData, handle, data_length + 8);
  Put64(out, offset);
  return out;
}

std::string EncodeNoneChunk(uint64_t handle) {
  return EncodeChunkHeader(kReplyFlagDone, kReplyTypeNone, handle, 0);
}

std::string EncodeErrorChunk(uint64_t handle, uint32_t error, std::string_view message) {
  if (message.size() > kStringBytesMax) {
    size_t cut = kStringBytesMax;
    while (cut > 0 && (static_cast<uint8_t>(message[cut]) & 0xC0) == 0x80) --cut;
    message = message.substr(0, cut);
  }
  std::string out = EncodeChunkHeader(kReplyFlagDone, kReplyTypeError, handle,
                                      static_cast<uint32_t>(6 + message.size()));
  Put32(out, error);
  Put16(out, static_cast<uint16_t>(message.size()));
  out.append(message);
  return out;
}

std::vector<BlockDescriptor> NormalizeExtents(const std::vector<Extent>& extents, uint32_t request_length,
                                              uint32_t block_min, bool req_one, size_t descriptors_max) {
  const size_t limit = req_one ? 1 : std::max<size_t>(1, descriptors_max);
  std::vector<BlockDescriptor> out;
  uint32_t sum = 0;
  for (const Extent& e : extents) {
    if (e.length == 0) continue;
    uint32_t len = std::min(e.length, request_length - sum);
    len -= len % block_min;
    if (len == 0) break;
    uint32_t flags = (e.hole ? kStateHole : 0) | (e.zero ? kStateZero : 0);
    if (!out.empty() && out.back().flags == flags) {
      out.back().length += len;
    } else if (out.size() < limit) {
      out.push_back({len, flags});
    } else {
      break;
    }
    sum += len;
    // Cut short (at the request's end, or for alignment): whatever follows
    // would start off the grid or past the range.
    if (len != e.length || sum == request_length) break;
  }
  if (out.empty()) out.push_back({request_length, 0});
  return out;
}

std::string EncodeBlockStatusChunk(uint64_t handle, uint32_t context_id,
                                   const std::vector<BlockDescriptor>& descriptors) {
  std::string out = EncodeChunkHeader(kReplyFlagDone, kReplyTypeBlockStatus, handle,
                                      static_cast<uint32_t>(4 + 8 * descriptors.size()));
  Put32(out, context_id);
  for (const BlockDescriptor& d : descriptors) {
    Put32(out, d.length);
    Put32(out, d.flags);
  }
  return out;
}

std::string CommandName(uint16_t type) {
  switch (type) {
    case kCmdRead: return "NBD_CMD_READ";
    case kCmdWrite: return "NBD_CMD_WRITE";
    case kCmdDisc: return "NBD_CMD_DISC";
    case kCmdFlush: return "NBD_CMD_FLUSH";
    case kCmdTrim: return "NBD_CMD_TRIM";
    case kCmdCache: return "NBD_CMD_CACHE";
    case kCmdWriteZeroes: return "NBD_CMD_WRITE_ZEROES";
    case kCmdBlockStatus: return "NBD_CMD_BLOCK_STATUS";
    default: return "command " + std::to_string(type);
  }
}

std::string OptionName(uint32_t option) {
  switch (option) {
    case kOptExportName: return "NBD_OPT_EXPORT_NAME";
    case kOptAbort: return "NBD_OPT_ABORT";
    case kOptList: return "NBD_OPT_LIST";
    case kOptPeekExport: return "NBD_OPT_PEEK_EXPORT";
    case kOptStartTls: return "NBD_OPT_STARTTLS";
    case kOptInfo: return "NBD_OPT_INFO";
    case kOptGo: return "NBD_OPT_GO";
    case kOptStructuredReply: return "NBD_OPT_STRUCTURED_REPLY";
    case kOptListMetaContext: return "NBD_OPT_LIST_META_CONTEXT";
    case kOptSetMetaContext: return "NBD_OPT_SET_META_CONTEXT";
    default: return "option " + std::to_string(option);
  }
}

}  // namespace strata::block::nbd
