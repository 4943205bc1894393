// Loading and validation of the master's soft-fault and adaptive-recovery keys.
#include "dfs/master/master_options.h"

#include <gtest/gtest.h>

namespace strata::dfs::master {
namespace {

Status LoadYaml(const std::string& yaml, MasterOptions* options) {
  ConfigNode node(YAML::Load(yaml), "test");
  return options->Load(node);
}

TEST(MasterOptionsTest, AdaptiveRecoveryAndSlowServerKeysLoad) {
  MasterOptions o;
  ASSERT_TRUE(LoadYaml("recovery_bytes_per_sec_min: 4M\n"
                       "recovery_foreground_p99_target_us: 20000\n"
                       "recovery_foreground_p99_tolerance: 3.5\n"
                       "soft_fault_servers_min: 6\n",
                       &o)
                  .ok());
  EXPECT_EQ(o.recovery_bytes_per_sec_min, 4u << 20);
  EXPECT_EQ(o.recovery_foreground_p99_target_us, 20000u);
  EXPECT_EQ(o.recovery_foreground_p99_tolerance, 3.5);
  EXPECT_EQ(o.soft_fault_servers_min, 6u);
  EXPECT_TRUE(MasterOptions().Validate().ok());
}

TEST(MasterOptionsTest, BadValuesAreRejected) {
  for (const char* yaml : {"recovery_bytes_per_sec_min: 0", "recovery_foreground_p99_tolerance: 0.5",
                           "soft_fault_servers_min: 2", "recovery_foreground_p99_tolerence: 2"}) {
    MasterOptions o;
    EXPECT_EQ(LoadYaml(yaml, &o).code(), StatusCode::kInvalidArgument) << yaml;
  }
  // A floor above the max is not an error: the floor is capped at the max.
  MasterOptions o;
  EXPECT_TRUE(LoadYaml("recovery_bytes_per_sec_max: 1M", &o).ok());
}

TEST(MasterOptionsTest, EtcdMetaStoreKeysLoadAndAreChecked) {
  MasterOptions o;
  ASSERT_TRUE(LoadYaml("meta_store: etcd\n"
                       "etcd_endpoints: 'http://127.0.0.1:2379, 127.0.0.1:2479'\n"
                       "etcd_key_prefix: strata/c1/master/\n"
                       "etcd_lease_ttl_seconds: 5\n",
                       &o)
                  .ok());
  auto e = EtcdStoreOptions(o);
  EXPECT_EQ(e.endpoints, (std::vector<std::string>{"http://127.0.0.1:2379", "127.0.0.1:2479"}));
  EXPECT_EQ(e.key_prefix, "strata/c1/master/");
  EXPECT_EQ(MasterOptions().meta_store, "rocksdb");
  for (const char* yaml : {"meta_store: etcd", "meta_store: zookeeper",
                           "meta_store: etcd\netcd_endpoints: a:1\netcd_request_timeout_ms: 3000"}) {
    MasterOptions bad;
    EXPECT_EQ(LoadYaml(yaml, &bad).code(), StatusCode::kInvalidArgument) << yaml;
  }
}

}  // namespace
}  // namespace strata::dfs::master
