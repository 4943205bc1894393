// PubSubRegistry and Mailbox: wake-ups (one per batch, through another
// thread's EventLoop), the hard and soft output-buffer limits on a
// ManualClock, the bytes a connection has not sent counting toward them,
// and the limit text of the config file.
#include "cache/server/pubsub.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "cache/server/event_loop.h"

namespace strata::cache {
namespace {

constexpr PubSubLimits kNoLimits{0, 0, 0};

TEST(PubSubRegistry, SubscribeUnsubscribeAndCounts) {
  ManualClock clock;
  PubSubRegistry r(&clock, kNoLimits);
  auto box = std::make_shared<Mailbox>();
  EXPECT_TRUE(r.Subscribe(PubSubKind::kChannel, "c", 1, box));
  EXPECT_FALSE(r.Subscribe(PubSubKind::kChannel, "c", 1, box));
  EXPECT_TRUE(r.Subscribe(PubSubKind::kPattern, "c*", 1, box));
  EXPECT_TRUE(r.Subscribe(PubSubKind::kShard, "c", 1, box));
  EXPECT_EQ(r.Count(PubSubKind::kChannel), 1u);
  EXPECT_EQ(r.Count(PubSubKind::kPattern), 1u);
  EXPECT_EQ(r.Publish("c", "m"), 2u);
  EXPECT_EQ(r.PublishShard("c", "m"), 1u);
  EXPECT_TRUE(r.Unsubscribe(PubSubKind::kChannel, "c", 1));
  EXPECT_FALSE(r.Unsubscribe(PubSubKind::kChannel, "c", 1));
  EXPECT_EQ(r.Count(PubSubKind::kChannel), 0u);
  EXPECT_EQ(r.NumSub(PubSubKind::kChannel, "c"), 0u);
  EXPECT_EQ(r.NumSub(PubSubKind::kShard, "c"), 1u);
  EXPECT_EQ(r.Publish("c", "m"), 1u);
}

TEST(Mailbox, WakesOncePerBatchAndEncodesPerProtocol) {
  ManualClock clock;
  Mailbox box;
  int wakes = 0;
  box.SetWake([&] { wakes++; });
  box.Push("message", nullptr, "c", "a", kNoLimits, 0);
  box.Push("message", nullptr, "c", "b", kNoLimits, 0);
  EXPECT_EQ(wakes, 1);
  std::string out;
  EXPECT_TRUE(box.Take(&out));
  EXPECT_EQ(out, "*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\na\r\n*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nb\r\n");
  box.set_protocol(3);
  std::string pattern = "c*";
  box.Push("pmessage", &pattern, "c", "x", kNoLimits, 0);
  EXPECT_EQ(wakes, 2);
  out.clear();
  EXPECT_TRUE(box.Take(&out));
  EXPECT_EQ(out, ">4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$1\r\nc\r\n$1\r\nx\r\n");
}

TEST(Mailbox, HardLimitCountsUnsentBytesAndIsFinal) {
  Mailbox box;
  PubSubLimits limits{10'000, 0, 0};
  std::string payload(1000, 'p');
  std::string out;
  for (int i = 0; i < 5; i++) box.Push("message", nullptr, "c", payload, limits, 0);
  EXPECT_TRUE(box.Take(&out));
  // The connection could not send them: they still count.
  box.SetUnsent(out.size());
  for (int i = 0; i < 5; i++) box.Push("message", nullptr, "c", payload, limits, 0);
  EXPECT_TRUE(box.overflowed());
  EXPECT_EQ(box.pending_bytes(), 0u);
  box.SetUnsent(0);
  box.Push("message", nullptr, "c", "small", limits, 0);  // refused: the client is being closed
  EXPECT_EQ(box.pending_bytes(), 0u);
  EXPECT_FALSE(box.Take(&out));
}

TEST(Mailbox, SoftLimitOnlyAfterItsSeconds) {
  Mailbox box;
  PubSubLimits limits{0, 2'000, 60};
  std::string payload(1000, 'p');
  uint64_t t = 1'000'000;
  for (int i = 0; i < 3; i++) box.Push("message", nullptr, "c", payload, limits, t);  // over soft from the 2nd
  EXPECT_FALSE(box.overflowed());
  box.Push("message", nullptr, "c", payload, limits, t + 59'000'000);
  EXPECT_FALSE(box.overflowed());
  box.Push("message", nullptr, "c", payload, limits, t + 61'000'000);
  EXPECT_TRUE(box.overflowed());
  // A client that drops back under the soft limit starts over.
  Mailbox calm;
  std::string out;
  calm.Push("message", nullptr, "c", payload, limits, t);
  calm.Push("message", nullptr, "c", payload, limits, t);  // over: the clock starts
  EXPECT_TRUE(calm.Take(&out));
  calm.SetUnsent(0);
  calm.Push("message", nullptr, "c", "x", limits, t + 30'000'000);  // under again
  calm.Push("message", nullptr, "c", payload, limits, t + 31'000'000);
  calm.Push("message", nullptr, "c", payload, limits, t + 31'000'000);  // over again: the clock restarts
  calm.Push("message", nullptr, "c", payload, limits, t + 70'000'000);  // over for 39 s only
  EXPECT_FALSE(calm.overflowed());
}

// What the server does: the subscriber's wake-up posts to the loop that owns
// it, and that loop's thread takes the messages.
TEST(Mailbox, PublisherOnAnotherThreadWakesTheOwningLoop) {
  ManualClock clock;
  EventLoop loop(&clock, 0);
  ASSERT_TRUE(loop.Open().ok());
  PubSubRegistry r(&clock, kNoLimits);
  auto box = std::make_shared<Mailbox>();
  std::string received;  // touched only by the loop's thread until it stops
  std::atomic<int> messages{0};
  box->SetWake([&] {
    loop.Post([&] {
      size_t before = received.size();
      ASSERT_TRUE(box->Take(&received));
      for (size_t p = received.find("message", before); p != std::string::npos; p = received.find("message", p + 1)) {
        messages++;
      }
    });
  });
  r.Subscribe(PubSubKind::kChannel, "c", 1, box);
  std::thread owner([&] { loop.Run(); });
  std::thread publisher([&] {
    for (int i = 0; i < 1000; i++) EXPECT_EQ(r.Publish("c", std::to_string(i)), 1u);
  });
  publisher.join();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (messages.load() < 1000 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  loop.Stop();
  owner.join();
  EXPECT_EQ(messages.load(), 1000);
  EXPECT_EQ(received.rfind("*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\n0\r\n", 0), 0u);  // in order from the first
}

TEST(PubSubLimits, ParseAndFormat) {
  auto l = ParsePubSubLimits("32M 8mb 60");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->hard_bytes, 32u << 20);
  EXPECT_EQ(l->soft_bytes, 8u << 20);
  EXPECT_EQ(l->soft_seconds, 60u);
  EXPECT_EQ(FormatPubSubLimits(*l), "33554432 8388608 60");
  EXPECT_FALSE(ParsePubSubLimits("32M 8M").ok());
  EXPECT_FALSE(ParsePubSubLimits("32M 8M 60 1").ok());
  EXPECT_FALSE(ParsePubSubLimits("x 8M 60").ok());
  EXPECT_FALSE(ParsePubSubLimits("32M 8M 6s").ok());
}

}  // namespace
}  // namespace strata::cache
