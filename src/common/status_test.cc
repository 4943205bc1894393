#include "common/status.h"

#include <gtest/gtest.h>

#include "common/result.h"

namespace strata {
namespace {

TEST(StatusTest, OkAndErrors) {
  EXPECT_TRUE(Status::Ok().ok());
  Status s = Status::NotFound("/a");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.ToString(), "NotFound: /a");
  EXPECT_EQ(s.WithContext("stat").ToString(), "NotFound: stat: /a");
  EXPECT_TRUE(Status::Unavailable("x").retryable());
  EXPECT_FALSE(Status::Corruption("x").retryable());
}

TEST(StatusTest, NotLeaderNamesTheLeaderThroughContext) {
  Status s = Status::NotLeader("master standby", "10.0.0.2:7000");
  EXPECT_TRUE(s.retryable());
  EXPECT_EQ(s.ToString(), "NotLeader: master standby: not the leader; leader=10.0.0.2:7000");
  EXPECT_EQ(NotLeaderTarget(s), "10.0.0.2:7000");
  EXPECT_EQ(NotLeaderTarget(s.WithContext("create /a")), "10.0.0.2:7000");
  EXPECT_EQ(NotLeaderTarget(Status::NotLeader("master standby", "")), "");
  EXPECT_EQ(NotLeaderTarget(Status::Unavailable("leader=1.2.3.4:5")), "");
}

TEST(StatusTest, FromErrnoMapsCodes) {
  EXPECT_EQ(Status::FromErrno(ENOSPC, "write").code(), StatusCode::kNoSpace);
  EXPECT_EQ(Status::FromErrno(ENOENT, "open").code(), StatusCode::kNotFound);
  EXPECT_EQ(Status::FromErrno(EIO, "read").code(), StatusCode::kIoError);
}

Result<int> Half(int x) {
  if (x % 2) return Status::InvalidArgument("odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int h, Half(x));
  ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

TEST(ResultTest, PropagatesErrors) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().code(), StatusCode::kInvalidArgument);
  Result<int> bad(Status::Ok());
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace strata
