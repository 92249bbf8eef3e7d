// GoogleTest entry point for every genmem test program: seeds LibTorch's generator before each
// test, so a test's random tensors are the same on every run, and uses two threads.

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

namespace {

class SeedEveryTest : public testing::EmptyTestEventListener {
  void OnTestStart(const testing::TestInfo& /*test*/) override { at::manual_seed(1234); }
};

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  at::set_num_threads(2);
  spdlog::set_level(spdlog::level::warn);
  testing::UnitTest::GetInstance()->listeners().Append(new SeedEveryTest);
  return RUN_ALL_TESTS();
}
