// Pub/sub system tests: the real `strata cache` process (two worker threads,
// so publisher and subscribers live on different event loops) driven by
// redis-py as a user runs it, and by raw sockets for a subscriber that never
// reads. Every wait polls a condition with a deadline.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "cache/testing/process.h"

namespace strata::cache::testing {
namespace {

std::string Resp(const std::vector<std::string>& args) {
  std::string s = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) s += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return s;
}


// Two subscribers (one by channel and pattern, one by pattern only) and a
// publisher, each its own connection: PUBLISH counts, message order and
// kinds, PUBSUB NUMSUB / NUMPAT / CHANNELS, and UNSUBSCRIBE taking effect.
const char* kRedisPyPubSub = R"(
import sys, time, redis
sys.stderr = sys.stdout
port = int(sys.argv[1])
pub = redis.Redis(port=port)
a = redis.Redis(port=port).pubsub()
b = redis.Redis(port=port).pubsub()
def drain(ps, n, kinds=('message', 'pmessage'), wait=10):
    got, deadline = [], time.time() + wait
    while len(got) < n and time.time() < deadline:
        m = ps.get_message(timeout=0.5)
        if m and m['type'] in kinds:
            got.append(m)
    return got
a.subscribe('news')
a.psubscribe('ev.*')
b.psubscribe('ev.[0-1]', 'news*')
assert [m['data'] for m in drain(a, 2, ('subscribe', 'psubscribe'))] == [1, 2]
assert [m['data'] for m in drain(b, 2, ('psubscribe',))] == [1, 2]
assert pub.pubsub_numsub('news', 'none') == [(b'news', 1), (b'none', 0)], pub.pubsub_numsub('news', 'none')
assert pub.pubsub_numpat() == 3, pub.pubsub_numpat()
assert pub.pubsub_channels() == [b'news'], pub.pubsub_channels()
assert pub.pubsub_channels('ev*') == []
assert pub.publish('news', 'n0') == 2
counts = [pub.publish('ev.%d' % (i % 3), str(i)) for i in range(300)]
assert counts == [2 if i % 3 < 2 else 1 for i in range(300)], counts
got_a = drain(a, 301)
assert got_a[0]['type'] == 'message' and got_a[0]['channel'] == b'news' and got_a[0]['data'] == b'n0', got_a[0]
assert [m['data'] for m in got_a[1:]] == [str(i).encode() for i in range(300)], 'order at a'
assert all(m['type'] == 'pmessage' and m['pattern'] == b'ev.*' for m in got_a[1:])
assert [m['channel'] for m in got_a[1:4]] == [b'ev.0', b'ev.1', b'ev.2']
got_b = drain(b, 201)
assert got_b[0]['pattern'] == b'news*' and got_b[0]['data'] == b'n0', got_b[0]
assert [m['data'] for m in got_b[1:]] == [str(i).encode() for i in range(300) if i % 3 < 2], 'order at b'
assert drain(b, 1, wait=0.5) == []
a.unsubscribe('news')
assert drain(a, 1, ('unsubscribe',))[0]['data'] == 1
assert pub.publish('news', 'late') == 1
assert pub.pubsub_numsub('news') == [(b'news', 0)]
assert [m['pattern'] for m in drain(b, 1)] == [b'news*']
assert drain(a, 1, wait=0.5) == []
b.punsubscribe()
assert [m['data'] for m in drain(b, 2, ('punsubscribe',))] == [1, 0]
assert pub.pubsub_numpat() == 1
print('ok')
)";

TEST(PubSubSystem, RedisPyPatternsCountsAndOrderAcrossConnections) {
  std::string py = PythonWithRedis();
  if (py.empty()) GTEST_SKIP() << "python3-redis not installed";
  CacheProcess p;
  ASSERT_TRUE(p.ready()) << p.Log();
  RunResult r = RunProgram({py, "-c", kRedisPyPubSub, std::to_string(p.resp_port())});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out, "ok\n");
}

// Keyspace notifications through redis-py: CONFIG SET notify-keyspace-events,
// a pattern subscription on __keyspace@0__ and __keyevent@0__, and the
// events of a few writes made on another connection (another worker), and
// the "expired" event of the server's background expiry.
const char* kRedisPyKeyspace = R"(
import sys, time, redis
sys.stderr = sys.stdout
port = int(sys.argv[1])
r = redis.Redis(port=port)
assert r.config_set('notify-keyspace-events', 'KEA')
assert r.config_get('notify-keyspace-events') == {'notify-keyspace-events': 'AKE'}
ps = redis.Redis(port=port).pubsub()
ps.psubscribe('__keyspace@0__:user:*', '__keyevent@0__:expire')
def drain(n, wait=10):
    got, deadline = [], time.time() + wait
    while len(got) < n and time.time() < deadline:
        m = ps.get_message(timeout=0.5)
        if m and m['type'] == 'pmessage':
            got.append((m['channel'].decode(), m['data'].decode()))
    return got
assert len([m for m in [ps.get_message(timeout=5), ps.get_message(timeout=5)] if m]) == 2
r.set('user:1', 'a', ex=100)
r.hset('user:2', 'f', 'v')
r.delete('user:1', 'other')
r.expire('other', 10)
r.set('other', 'x')
r.expire('other', 10)
got = drain(5)
assert got == [('__keyspace@0__:user:1', 'set'), ('__keyspace@0__:user:1', 'expire'),
               ('__keyevent@0__:expire', 'user:1'), ('__keyspace@0__:user:2', 'hset'),
               ('__keyspace@0__:user:1', 'del')], got
assert drain(1) == [('__keyevent@0__:expire', 'other')]
r.set('user:exp', 'x', px=50)
assert [e for _, e in drain(3)] == ['set', 'expire', 'user:exp']
# Nobody reads it: the server's background expiry reclaims it.
assert drain(1) == [('__keyspace@0__:user:exp', 'expired')]
r.config_set('notify-keyspace-events', '')
r.set('user:3', 'x')
assert drain(1, wait=0.5) == []
print('ok')
)";

TEST(PubSubSystem, RedisPyKeyspaceNotifications) {
  std::string py = PythonWithRedis();
  if (py.empty()) GTEST_SKIP() << "python3-redis not installed";
  CacheProcess p;
  ASSERT_TRUE(p.ready()) << p.Log();
  RunResult r = RunProgram({py, "-c", kRedisPyKeyspace, std::to_string(p.resp_port())});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out, "ok\n");
}

// A subscriber whose socket takes little and which never reads.
class StuckSubscriber {
 public:
  explicit StuckSubscriber(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int small = 64 * 1024;  // set before connect, so the window stays small
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~StuckSubscriber() { ::close(fd_); }
  bool connected() const { return connected_; }
  // Subscribes and reads the confirmation; nothing is read after it.
  bool Subscribe(const std::string& channel) {
    std::string req = Resp({"SUBSCRIBE", channel});
    if (::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) return false;
    std::string want = "*3\r\n$9\r\nsubscribe\r\n$" + std::to_string(channel.size()) + "\r\n" + channel + "\r\n:1\r\n";
    std::string got;
    char buf[256];
    while (got.size() < want.size()) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 5000) <= 0) return false;
      ssize_t n = ::recv(fd_, buf, std::min(sizeof buf, want.size() - got.size()), 0);
      if (n <= 0) return false;
      got.append(buf, static_cast<size_t>(n));
    }
    return got == want;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

uint64_t InfoField(Client& c, const std::string& field) {
  std::string info = c.Command(Resp({"INFO", "stats"}), "\r\n\r\n");
  size_t at = info.find(field + ":");
  return at == std::string::npos ? UINT64_MAX : std::stoull(info.substr(at + field.size() + 1));
}

// Publishes `payload` to `channel` in pipelined batches until PUBLISH reports
// no receiver left, or `max_bytes` went out; returns the bytes published
// and samples the server's RSS into *rss_max after each batch.
uint64_t PublishUntilNobodyListens(Client& pub, pid_t pid, const std::string& channel, const std::string& payload,
                                   uint64_t max_bytes, size_t listeners, uint64_t* rss_max) {
  const std::string one = Resp({"PUBLISH", channel, payload});
  const std::string ack = ":" + std::to_string(listeners) + "\r\n";
  constexpr int kBatch = 16;
  std::string batch;
  for (int i = 0; i < kBatch; i++) batch += one;
  uint64_t sent = 0;
  while (sent < max_bytes) {
    pub.Send(batch);
    sent += kBatch * payload.size();
    std::string replies = pub.ReadUntil([&](const std::string& b) {
      size_t lines = 0;
      for (char ch : b) lines += ch == '\n';
      return lines >= kBatch;
    });
    *rss_max = std::max(*rss_max, RssBytes(pid));
    if (replies.find(ack) == std::string::npos) break;  // the slow subscriber is gone
  }
  return sent;
}

// The default limit (client-output-buffer-limit pubsub 32mb 8mb 60): a
// subscriber that never reads is disconnected once about 32 MiB wait for
// it, the server's RSS stays bounded while 512 MiB are published, and a
// subscriber that reads, the publisher and other clients carry on.
TEST(PubSubSystem, SubscriberThatNeverReadsIsDisconnectedAndMemoryStaysBounded) {
  CacheProcess p;
  ASSERT_TRUE(p.ready()) << p.Log();
  Client pub(p.resp_port());
  Client other(p.resp_port());
  ASSERT_EQ(other.Command(Resp({"SET", "k", "v"})), "+OK\r\n");

  // A subscriber that reads everything, on a thread of its own.
  Client reader(p.resp_port());
  ASSERT_EQ(reader.Command(Resp({"SUBSCRIBE", "firehose"}), ":1\r\n"),
            "*3\r\n$9\r\nsubscribe\r\n$8\r\nfirehose\r\n:1\r\n");
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> read_bytes{0};
  std::thread reading([&] {
    while (!stop) {
      std::string got = reader.ReadUntil([](const std::string& b) { return b.size() > (1u << 20); },
                                         std::chrono::milliseconds(100));
      read_bytes += got.size();
    }
  });

  StuckSubscriber stuck(p.resp_port());
  ASSERT_TRUE(stuck.connected());
  ASSERT_TRUE(stuck.Subscribe("firehose"));
  uint64_t rss_before = RssBytes(p.pid());
  uint64_t rss_max = rss_before;
  const std::string payload(64 * 1024, 'x');
  uint64_t sent = PublishUntilNobodyListens(pub, p.pid(), "firehose", payload, 512ull << 20, 2, &rss_max);
  EXPECT_LT(sent, 512ull << 20) << "the subscriber that never reads was never disconnected";
  EXPECT_GT(sent, 32ull << 20) << "disconnected before reaching the hard limit";
  // The publisher goes on; the server's memory does not follow it.
  uint64_t more = PublishUntilNobodyListens(pub, p.pid(), "firehose", payload, 128ull << 20, 1, &rss_max);
  EXPECT_EQ(more, 128ull << 20);
  EXPECT_LT(rss_max - rss_before, 96ull << 20) << "RSS before " << rss_before << ", at most " << rss_max
                                              << " after publishing " << (sent + more) << " bytes";
  std::cout << "published " << (sent >> 20) << " MiB until the stuck subscriber was closed; RSS "
            << (rss_before >> 20) << " MiB before, " << (rss_max >> 20) << " MiB at most\n";

  // The reader kept everything; the stuck subscriber's connection is closed.
  EXPECT_TRUE(WaitFor([&] { return read_bytes.load() >= sent + more; }, std::chrono::seconds(30)))
      << read_bytes.load() << " of " << (sent + more);
  stop = true;
  reading.join();
  EXPECT_EQ(pub.Command(Resp({"PUBSUB", "NUMSUB", "firehose"})), "*2\r\n$8\r\nfirehose\r\n:1\r\n");
  EXPECT_EQ(other.Command(Resp({"GET", "k"})), "$1\r\nv\r\n");
  EXPECT_EQ(InfoField(other, "client_output_buffer_limit_disconnections"), 1u);
  EXPECT_TRUE(WaitFor([&] { return p.Log().find("exceeding the pubsub output-buffer limit") != std::string::npos; },
                      std::chrono::seconds(5)));
}

// The limit from the config file (and CONFIG GET shows it); a small one
// disconnects early.
TEST(PubSubSystem, ConfiguredLimitFromTheConfigFile) {
  std::string dir = MakeTempDir();
  std::string config = dir + "/cache.yaml";
  std::ofstream(config) << "cache:\n  pubsub_buffer_limit: 1M 0 0\n";
  CacheProcess p({"--config", config});
  ASSERT_TRUE(p.ready()) << p.Log();
  Client pub(p.resp_port());
  EXPECT_EQ(pub.Command(Resp({"CONFIG", "GET", "client-output-buffer-limit"}), "0 0\r\n"),
            "*2\r\n$26\r\nclient-output-buffer-limit\r\n$59\r\nnormal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 0 0\r\n");
  StuckSubscriber stuck(p.resp_port());
  ASSERT_TRUE(stuck.connected());
  ASSERT_TRUE(stuck.Subscribe("c"));
  uint64_t rss_max = 0;
  uint64_t sent = PublishUntilNobodyListens(pub, p.pid(), "c", std::string(16 * 1024, 'y'), 64ull << 20, 1, &rss_max);
  EXPECT_LT(sent, 16ull << 20);
  EXPECT_EQ(pub.Command(Resp({"PUBSUB", "NUMSUB", "c"})), "*2\r\n$1\r\nc\r\n:0\r\n");
}

}  // namespace
}  // namespace strata::cache::testing
