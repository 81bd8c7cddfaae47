// Unit tests for the Tengo engine: host API, limits, suspend/resume, errors.
#include <gtest/gtest.h>

#include "llmspell/engines/tengo/tengo.hpp"

namespace tg = llmspell::tengo;

namespace {

tg::Status runScript(const std::string& src, std::unique_ptr<tg::Vm>* vm,
                     tg::Limits limits = {}) {
  tg::Script s(src, "test");
  s.modules().addStdlib(tg::ModuleMap::allStdlibNames());
  s.limits() = limits;
  tg::Status st = s.compile(vm);
  if (!st.ok()) return st;
  return (*vm)->run();
}

}  // namespace

TEST(TengoTest, RunsArithmetic) {
  std::unique_ptr<tg::Vm> vm;
  ASSERT_TRUE(runScript("out := 1 + 2 * 3", &vm).ok());
  EXPECT_EQ(vm->get("out").i(), 7);
}
