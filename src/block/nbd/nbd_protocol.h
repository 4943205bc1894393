// The NBD wire protocol as Strata serves it: constants, and pure parsers and
// encoders of the handshake (fixed newstyle option haggling) and of the
// transmission requests and replies. No sockets here, so that the fuzzer
// (fuzz/nbd_fuzz.cc) drives every parser directly; nbd_server.cc does the
// I/O. The reference is proto.md of github.com/NetworkBlockDevice/nbd; the
// byte layouts are drawn in docs/nbd.md. All integers are big-endian.
//
// Every parser reads only the bytes it is given and allocates at most in
// proportion to them (views into the input, one small vector); a malformed
// input is an error Status, never a crash.
//
// Thread-safety: pure functions over values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "block/nbd/nbd_backend.h"
#include "common/result.h"

namespace strata::block::nbd {

// ---- Magic numbers.
inline constexpr uint64_t kNbdMagic = 0x4e42444d41474943ull;        // "NBDMAGIC"
inline constexpr uint64_t kIHaveOptMagic = 0x49484156454F5054ull;   // "IHAVEOPT"
inline constexpr uint64_t kOptionReplyMagic = 0x3e889045565a9ull;
inline constexpr uint32_t kRequestMagic = 0x25609513;
inline constexpr uint32_t kSimpleReplyMagic = 0x67446698;
inline constexpr uint32_t kStructuredReplyMagic = 0x668e33ef;

// ---- Handshake flags (server, 16 bits) and client flags (32 bits).
inline constexpr uint16_t kFlagFixedNewstyle = 1 << 0;
inline constexpr uint16_t kFlagNoZeroes = 1 << 1;
inline constexpr uint32_t kClientFlagFixedNewstyle = 1 << 0;
inline constexpr uint32_t kClientFlagNoZeroes = 1 << 1;

// ---- Transmission flags (16 bits).
inline constexpr uint16_t kTxHasFlags = 1 << 0;
inline constexpr uint16_t kTxReadOnly = 1 << 1;
inline constexpr uint16_t kTxSendFlush = 1 << 2;
inline constexpr uint16_t kTxSendFua = 1 << 3;
inline constexpr uint16_t kTxRotational = 1 << 4;
inline constexpr uint16_t kTxSendTrim = 1 << 5;
inline constexpr uint16_t kTxSendWriteZeroes = 1 << 6;
inline constexpr uint16_t kTxSendDf = 1 << 7;
inline constexpr uint16_t kTxCanMultiConn = 1 << 8;
inline constexpr uint16_t kTxSendResize = 1 << 9;
inline constexpr uint16_t kTxSendCache = 1 << 10;
inline constexpr uint16_t kTxSendFastZero = 1 << 11;

// ---- Options (client, during haggling).
inline constexpr uint32_t kOptExportName = 1;
inline constexpr uint32_t kOptAbort = 2;
inline constexpr uint32_t kOptList = 3;
inline constexpr uint32_t kOptPeekExport = 4;
inline constexpr uint32_t kOptStartTls = 5;
inline constexpr uint32_t kOptInfo = 6;
inline constexpr uint32_t kOptGo = 7;
inline constexpr uint32_t kOptStructuredReply = 8;
inline constexpr uint32_t kOptListMetaContext = 9;
inline constexpr uint32_t kOptSetMetaContext = 10;

// ---- Option reply types; errors have bit 31 set.
inline constexpr uint32_t kRepAck = 1;
inline constexpr uint32_t kRepServer = 2;
inline constexpr uint32_t kRepInfo = 3;
inline constexpr uint32_t kRepMetaContext = 4;
inline constexpr uint32_t kRepErrUnsup = (1u << 31) + 1;
inline constexpr uint32_t kRepErrPolicy = (1u << 31) + 2;
inline constexpr uint32_t kRepErrInvalid = (1u << 31) + 3;
inline constexpr uint32_t kRepErrPlatform = (1u << 31) + 4;
inline constexpr uint32_t kRepErrTlsReqd = (1u << 31) + 5;
inline constexpr uint32_t kRepErrUnknown = (1u << 31) + 6;
inline constexpr uint32_t kRepErrShutdown = (1u << 31) + 7;
inline constexpr uint32_t kRepErrBlockSizeReqd = (1u << 31) + 8;
inline constexpr uint32_t kRepErrTooBig = (1u << 31) + 9;

// ---- NBD_INFO types (in NBD_REP_INFO replies to NBD_OPT_INFO / NBD_OPT_GO).
inline constexpr uint16_t kInfoExport = 0;
inline constexpr uint16_t kInfoName = 1;
inline constexpr uint16_t kInfoDescription = 2;
inline constexpr uint16_t kInfoBlockSize = 3;

// ---- Commands and command flags.
inline constexpr uint16_t kCmdRead = 0;
inline constexpr uint16_t kCmdWrite = 1;
inline constexpr uint16_t kCmdDisc = 2;
inline constexpr uint16_t kCmdFlush = 3;
inline constexpr uint16_t kCmdTrim = 4;
inline constexpr uint16_t kCmdCache = 5;
inline constexpr uint16_t kCmdWriteZeroes = 6;
inline constexpr uint16_t kCmdBlockStatus = 7;

inline constexpr uint16_t kCmdFlagFua = 1 << 0;
inline constexpr uint16_t kCmdFlagNoHole = 1 << 1;
inline constexpr uint16_t kCmdFlagDf = 1 << 2;
inline constexpr uint16_t kCmdFlagReqOne = 1 << 3;
inline constexpr uint16_t kCmdFlagFastZero = 1 << 4;

// ---- Structured replies.
inline constexpr uint16_t kReplyFlagDone = 1 << 0;
inline constexpr uint16_t kReplyTypeNone = 0;
inline constexpr uint16_t kReplyTypeOffsetData = 1;
inline constexpr uint16_t kReplyTypeOffsetHole = 2;
inline constexpr uint16_t kReplyTypeBlockStatus = 5;
inline constexpr uint16_t kReplyTypeError = (1 << 15) + 1;
inline constexpr uint16_t kReplyTypeErrorOffset = (1 << 15) + 2;

// ---- base:allocation status flags.
inline constexpr uint32_t kStateHole = 1 << 0;
inline constexpr uint32_t kStateZero = 1 << 1;

// ---- Error values of replies (proto.md "Error values").
inline constexpr uint32_t kNbdEperm = 1;
inline constexpr uint32_t kNbdEio = 5;
inline constexpr uint32_t kNbdEnomem = 12;
inline constexpr uint32_t kNbdEinval = 22;
inline constexpr uint32_t kNbdEnospc = 28;
inline constexpr uint32_t kNbdEoverflow = 75;
inline constexpr uint32_t kNbdEnotsup = 95;
inline constexpr uint32_t kNbdEshutdown = 108;

// ---- Sizes of the fixed parts on the wire.
inline constexpr size_t kGreetingBytes = 18;           // magic, IHAVEOPT, u16 flags
inline constexpr size_t kClientFlagsBytes = 4;
inline constexpr size_t kOptionHeaderBytes = 16;       // IHAVEOPT, u32 option, u32 length
inline constexpr size_t kOptionReplyHeaderBytes = 20;  // magic, option, type, length
inline constexpr size_t kExportNameReplyBytes = 134;   // u64 size, u16 flags, 124 zeroes
inline constexpr size_t kRequestBytes = 28;
inline constexpr size_t kSimpleReplyBytes = 16;
inline constexpr size_t kStructuredReplyHeaderBytes = 20;

// ---- Limits.
// proto.md: strings (export names, messages, queries) MUST be no longer.
inline constexpr size_t kStringBytesMax = 4096;
// The longest option payload the server reads; a longer one is a denial of
// service and closes the connection. 4 + name + 4 + queries of 4 + 4096
// each: room for a few dozen meta context queries.
inline constexpr uint32_t kOptionBytesMax = 64 * 1024;
// Descriptors in one NBD_REPLY_TYPE_BLOCK_STATUS chunk (proto.md lets the
// server describe only a prefix of the range).
inline constexpr size_t kBlockStatusDescriptorsMax = 1024;
// proto.md: a minimum block size is a power of 2 no larger than this.
inline constexpr uint32_t kBlockSizeMinMax = 64 * 1024;

// The one metadata context served, and its id in this server.
inline constexpr std::string_view kBaseAllocation = "base:allocation";
inline constexpr uint32_t kBaseAllocationContextId = 1;

// ---- Handshake.

// S: NBDMAGIC, IHAVEOPT, handshake flags.
std::string EncodeGreeting(uint16_t handshake_flags);
// C: client flags. ProtocolError for a flag the server did not offer
// (proto.md: the server MUST then drop the connection).
Result<uint32_t> ParseClientFlags(std::string_view bytes, uint16_t handshake_flags);

struct OptionHeader {
  uint32_t option = 0;
  uint32_t length = 0;  // of the data that follows
};
// ProtocolError for a wrong magic or a length over `length_max`.
Result<OptionHeader> ParseOptionHeader(std::string_view bytes, uint32_t length_max = kOptionBytesMax);

// InvalidArgument unless `s` is a valid NBD string: at most 4096 bytes, no NUL.
Status CheckNbdString(std::string_view s);

// Data of NBD_OPT_INFO and NBD_OPT_GO: u32 name length, name, u16 count,
// count x u16 information requests. InvalidArgument when the lengths do not
// add up to the payload exactly.
struct InfoRequest {
  std::string_view name;          // into the payload
  std::vector<uint16_t> requests;  // NBD_INFO_* types asked for
};
Result<InfoRequest> ParseInfoRequest(std::string_view payload);

// Data of NBD_OPT_LIST_META_CONTEXT and NBD_OPT_SET_META_CONTEXT: u32 name
// length, export name, u32 query count, count x (u32 length, query).
struct MetaContextRequest {
  std::string_view export_name;          // into the payload
  std::vector<std::string_view> queries;  // into the payload
};
Result<MetaContextRequest> ParseMetaContextRequest(std::string_view payload);

// Whether `query` selects base:allocation: for NBD_OPT_SET_META_CONTEXT
// only "base:allocation" does; for NBD_OPT_LIST_META_CONTEXT the "base:"
// wildcard does too. Queries of other namespaces select nothing.
// InvalidArgument for a query that is not "namespace:leaf".
Result<bool> QuerySelectsBaseAllocation(std::string_view query, bool listing);

// S: one reply to an option: magic, option, reply type, length, data.
std::string EncodeOptionReply(uint32_t option, uint32_t reply_type, std::string_view data = {});
// Data of NBD_REP_SERVER: u32 name length, name, description.
std::string EncodeRepServerData(std::string_view name, std::string_view description);
// Data of NBD_REP_INFO replies.
std::string EncodeInfoExportData(uint64_t size_bytes, uint16_t transmission_flags);
std::string EncodeInfoNameData(std::string_view name);
std::string EncodeInfoDescriptionData(std::string_view description);
std::string EncodeInfoBlockSizeData(uint32_t min, uint32_t preferred, uint32_t max);
// Data of NBD_REP_META_CONTEXT: u32 context id, name.
std::string EncodeMetaContextData(uint32_t context_id, std::string_view name);
// S: the end of NBD_OPT_EXPORT_NAME: size, flags and (unless the client
// set NBD_FLAG_C_NO_ZEROES) 124 zero bytes.
std::string EncodeExportNameReply(uint64_t size_bytes, uint16_t transmission_flags, bool no_zeroes);

// The block size constraints advertised (NBD_INFO_BLOCK_SIZE) and enforced
// for an export: its own, with the maximum capped at the server's payload
// limit and rounded down to a multiple of the minimum. InvalidArgument if
// the export's values break proto.md's rules (minimum a power of 2 up to
// 64 KiB, preferred a power of 2 >= max(minimum, 512)).
struct BlockSizes {
  uint32_t min = 1;
  uint32_t preferred = 4096;
  uint32_t max = 32u << 20;
};
Result<BlockSizes> NegotiateBlockSizes(const ExportInfo& info, uint32_t payload_bytes_max);

// The transmission flags of an export; NBD_FLAG_SEND_DF only once structured
// replies were negotiated (proto.md). A read-only export offers no TRIM or
// WRITE_ZEROES.
uint16_t TransmissionFlags(const ExportInfo& info, bool structured_replies);

// ---- Transmission.

struct Request {
  uint16_t flags = 0;
  uint16_t type = 0;
  uint64_t handle = 0;
  uint64_t offset = 0;
  uint32_t length = 0;
};
// ProtocolError for a wrong magic (the stream cannot be resynchronised).
Result<Request> ParseRequest(std::string_view bytes);
std::string EncodeRequest(const Request& request);  // for clients and tests

// What the handshake settled for one connection's transmission phase.
struct TransmissionContext {
  uint64_t size_bytes = 0;
  uint16_t flags = 0;  // transmission flags sent to the client
  BlockSizes block_sizes;
  bool structured_replies = false;
  bool base_allocation = false;  // base:allocation selected for this export
};

// The verdict on a request before it reaches the Volume: `error` is 0 when
// it may go ahead, else the NBD error to answer with, and `reason` (a
// literal) says why, for the structured error message.
struct RequestVerdict {
  uint32_t error = 0;
  std::string_view reason;
};
// Flags, read-only, range, alignment and length checks of proto.md:
// EINVAL for unknown commands or flags, misalignment to the minimum block
// size, reads/trims/block status past the end, lengths over the maximum
// (EOVERFLOW for an NBD_CMD_FLAG_DF read); ENOSPC for writes and zero
// writes past the end; EPERM for writes, trims and zero writes to a
// read-only export. NBD_CMD_DISC is always accepted.
RequestVerdict CheckRequest(const Request& request, const TransmissionContext& context);

// S: a simple reply header (for a successful read, the data follows it).
std::string EncodeSimpleReply(uint64_t handle, uint32_t error);
// S: a structured reply chunk header; `payload_length` bytes follow.
std::string EncodeChunkHeader(uint16_t flags, uint16_t type, uint64_t handle, uint32_t payload_length);
// S: NBD_REPLY_TYPE_OFFSET_DATA header plus the u64 offset; `data_length`
// bytes of data follow. REQUIRES: data_length <= 2^32 - 9.
std::string EncodeOffsetDataHeader(uint16_t flags, uint64_t handle, uint64_t offset, uint32_t data_length);
// S: the final NBD_REPLY_TYPE_NONE chunk.
std::string EncodeNoneChunk(uint64_t handle);
// S: a final NBD_REPLY_TYPE_ERROR chunk; `message` is cut to 4096 bytes on a
// UTF-8 character boundary.
std::string EncodeErrorChunk(uint64_t handle, uint32_t error, std::string_view message);

struct BlockDescriptor {
  uint32_t length = 0;
  uint32_t flags = 0;  // kStateHole | kStateZero
};
// Turns a Volume's extents into valid descriptors for a request of
// `request_length` bytes: no zero lengths, each a multiple of `block_min`,
// consecutive equal states merged, the sum within the request, at most one
// with `req_one`, at most `descriptors_max`. A Volume answer with nothing
// usable becomes one descriptor of the whole range with status 0 (always
// correct, proto.md). REQUIRES: request_length > 0, a multiple of block_min.
std::vector<BlockDescriptor> NormalizeExtents(const std::vector<Extent>& extents, uint32_t request_length,
                                              uint32_t block_min, bool req_one,
                                              size_t descriptors_max = kBlockStatusDescriptorsMax);
// S: the final NBD_REPLY_TYPE_BLOCK_STATUS chunk for `context_id`.
// REQUIRES: descriptors is not empty.
std::string EncodeBlockStatusChunk(uint64_t handle, uint32_t context_id,
                                   const std::vector<BlockDescriptor>& descriptors);

// "NBD_CMD_READ", "NBD_OPT_GO", ... for logs; "command 42" when unknown.
std::string CommandName(uint16_t type);
std::string OptionName(uint32_t option);

}  // namespace strata::block::nbd
