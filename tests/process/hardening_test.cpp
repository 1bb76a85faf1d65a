#include <sys/prctl.h>
#include <sys/resource.h>

#include <gtest/gtest.h>

#include "process/hardening.h"

namespace secretsd {
namespace {

TEST(ProcessHardening, NoCoreFileAndNotDumpable) {
  ASSERT_TRUE(forbid_core_dumps());
  rlimit core{};
  ASSERT_EQ(::getrlimit(RLIMIT_CORE, &core), 0);
  EXPECT_EQ(core.rlim_cur, 0u);
  EXPECT_EQ(core.rlim_max, 0u);
  EXPECT_EQ(::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
}

}  // namespace
}  // namespace secretsd
