#include "rpc/frame.h"

#include <gtest/gtest.h>

#include <cstring>

#include "env/random.h"

namespace strata::rpc {
namespace {

TEST(FrameTest, RoundTrip) {
  FrameHeader h;
  h.flags = kFlagReply;
  h.status = 22;
  h.method = 7;
  h.timeout_ms = 1234;
  h.request_id = 0x1122334455667788ull;
  h.meta_len = 10;
  h.bulk_len = 1 << 20;
  h.body_crc = 0xdeadbeef;
  char buf[kFrameHeaderSize];
  EncodeFrameHeader(h, buf);
  auto d = DecodeFrameHeader(buf, FrameLimits{});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_TRUE(d->is_reply());
  EXPECT_EQ(d->status, 22);
  EXPECT_EQ(d->method, 7u);
  EXPECT_EQ(d->timeout_ms, 1234u);
  EXPECT_EQ(d->request_id, h.request_id);
  EXPECT_EQ(d->meta_len, 10u);
  EXPECT_EQ(d->bulk_len, 1u << 20);
  EXPECT_EQ(d->body_crc, 0xdeadbeefu);
}

TEST(FrameTest, RejectsMalformedHeaders) {
  FrameHeader h;
  h.meta_len = 5;
  char buf[kFrameHeaderSize];
  EncodeFrameHeader(h, buf);

  char bad[kFrameHeaderSize];
  std::memcpy(bad, buf, sizeof(bad));
  bad[0] = 'X';
  EXPECT_EQ(DecodeFrameHeader(bad, {}).status().code(), StatusCode::kProtocolError);

  std::memcpy(bad, buf, sizeof(bad));
  bad[20] ^= 1;  // request id changed: header CRC no longer matches
  EXPECT_EQ(DecodeFrameHeader(bad, {}).status().code(), StatusCode::kProtocolError);

  h.bulk_len = 100u << 20;
  EncodeFrameHeader(h, bad);
  auto over = DecodeFrameHeader(bad, FrameLimits{.max_meta_bytes = 1024, .max_bulk_bytes = 1 << 20});
  EXPECT_EQ(over.status().code(), StatusCode::kProtocolError);
  EXPECT_NE(over.status().message().find("exceeds"), std::string::npos);
}

TEST(FrameTest, RandomBytesNeverDecode) {
  Random rnd(7);
  char buf[kFrameHeaderSize];
  for (int i = 0; i < 100000; ++i) {
    rnd.Fill(buf, sizeof(buf));
    EXPECT_FALSE(DecodeFrameHeader(buf, {}).ok());
  }
}

}  // namespace
}  // namespace strata::rpc
